import ArgumentParser
import BullpenCLI

// Parsing by hand runs async subcommands on the async path whatever the platform annotations say.
do {
    var command = try BullpenCommand.parseAsRoot()
    if var asyncCommand = command as? any AsyncParsableCommandRunner {
        try await asyncCommand.runAsync()
    } else {
        try command.run()
    }
} catch {
    BullpenCommand.exit(withError: error)
}

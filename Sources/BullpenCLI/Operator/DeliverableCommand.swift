import ArgumentParser

/// `bullpen deliverable approve|deliver`: the review decisions on a deliverable version.
struct DeliverableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliverable", abstract: "Deliverables: versions of a task's work that a human reviews.",
        subcommands: [Approve.self, Deliver.self])

    /// What both decisions take.
    struct Decision: ParsableArguments {
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "The reviewer's notes.") var notes: String?

        func issue(_ action: String) throws {
            try Output.issue(
                "POST", "/v1/deliverables/\(id)/\(action)", notes.map { ["notes": $0] } ?? [:], api: api, wait: wait)
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a deliverable in review (not yet delivered).")
        @OptionGroup var decision: Decision
        func run() throws { try decision.issue("approve") }
    }

    struct Deliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Deliver a deliverable (approving it first if it is in review): the client sees it and is emailed.")
        @OptionGroup var decision: Decision
        func run() throws { try decision.issue("deliver") }
    }
}

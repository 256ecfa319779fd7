import ArgumentParser

/// `bullpen notification list`: what Bullpen sent, is sending, skipped or parked, and why.
struct NotificationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notification", abstract: "Notifications: emails and chat messages, and their state.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Notifications, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this status's (pending, sent, skipped, parked).") var status: String?
        @Option(help: "Only this kind's (task-failed, review-waiting, deliverable-ready ...).") var kind: String?
        @Option(help: "Only this task's.") var task: Int64?

        func run() throws {
            Output.list(
                try api.client().get(
                    Output.path(
                        "/v1/notifications",
                        page.query + [("status", status), ("kind", kind), ("task", task.map(String.init))])),
                api: api,
                columns: ["id", "kind", "channel", "recipient", "status", "attempts", "providerId", "lastError"])
        }
    }
}

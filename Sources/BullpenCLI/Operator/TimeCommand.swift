import ArgumentParser

/// `bullpen time add|list`: time spent on the agency's work.
struct TimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time", abstract: "Time spent: the agents' (from their runs) and the operators' own.",
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an operator's own time on a project.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var project: Int64
        @Option var task: Int64?
        @Option(help: "How long, in minutes (1 to 1440).") var minutes: Int
        @Option(help: "operator_review, client_meeting or admin.") var type: String = "operator_review"
        @Option var description: String?
        @Flag(help: "Not billable to the client.") var notBillable = false

        func run() throws {
            var body: [String: Any] = ["projectId": project, "minutes": minutes, "type": type]
            body["taskId"] = task
            body["description"] = description
            if notBillable { body["billable"] = false }
            try Output.issue("POST", "/v1/time-entries", body, api: api, wait: wait)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List time entries.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option var project: Int64?
        @Option var task: Int64?
        @Option var client: Int64?
        @Option var agent: Int64?

        func run() throws {
            let path = Output.path(
                "/v1/time-entries",
                page.query + [
                    ("project", project.map(String.init)), ("task", task.map(String.init)),
                    ("client", client.map(String.init)), ("agent", agent.map(String.init)),
                ])
            Output.list(
                try api.client().get(path), api: api,
                columns: ["id", "projectId", "taskId", "agentId", "operatorId", "type", "durationMs", "startedAt"])
        }
    }
}

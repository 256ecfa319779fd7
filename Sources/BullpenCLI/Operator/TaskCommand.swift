import ArgumentParser

/// `bullpen task create|assign|cancel|list|show`.
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Tasks: the units of work agents run.",
        subcommands: [Create.self, Assign.self, Cancel.self, List.self, Show.self])

    static let columns = ["id", "projectId", "title", "status", "priority", "taskType", "assignedAgentId", "dependsOn"]

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a task of a project.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var project: Int64
        @Option var title: String
        @Option var description: String?
        @Option(help: "research, draft, code, design, review or revision.") var type: String?
        @Option(help: "researcher, writer, coder, designer, reviewer or general.") var specialization: String?
        @Option(help: "1 (background) to 5 (critical); default from the plan and type.") var priority: Int?
        @Option(help: "Estimated minutes.") var estimateMinutes: Int?
        @Option(help: "Comma-separated ids of tasks of the same project that must complete first.")
        var dependsOn: String?

        func run() throws {
            var body: [String: Any] = ["projectId": project, "title": title]
            body["description"] = description
            body["taskType"] = type
            body["requiredSpecialization"] = specialization
            body["priority"] = priority
            body["estimatedDurationMs"] = estimateMinutes.map { $0 * 60_000 }
            if let dependsOn {
                body["dependsOn"] = try dependsOn.split(separator: ",").map {
                    guard let id = Int64($0.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--depends-on takes task ids separated by commas")
                    }
                    return id
                }
            }
            try Output.issue("POST", "/v1/tasks", body, api: api, wait: wait)
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a pending task to an agent.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var agent: Int64

        func run() throws {
            try Output.issue("POST", "/v1/tasks/\(id)/assign", ["agentId": agent], api: api, wait: wait)
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a task that has not started.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var reason: String?

        func run() throws {
            var body: [String: Any] = [:]
            body["reason"] = reason
            try Output.issue("POST", "/v1/tasks/\(id)/cancel", body, api: api, wait: wait)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option var status: String?
        @Option var project: Int64?
        @Option var agent: Int64?

        func run() throws {
            let path = Output.path(
                "/v1/tasks",
                page.query + [
                    ("status", status), ("project", project.map(String.init)), ("agent", agent.map(String.init)),
                ])
            Output.list(try api.client().get(path), api: api, columns: TaskCommand.columns)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a task with its attempts and events.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            let task = try api.client().get("/v1/tasks/\(id)")
            Output.show(task, api: api, fields: TaskCommand.columns + ["description", "error", "createdAt"])
            guard !api.json else { return }
            print("\nattempts")
            Output.list(
                ["data": task["attempts"] ?? []], api: api, columns: ["attempt", "agentId", "openedAt", "outcome"])
            print("\nevents")
            Output.list(["data": task["events"] ?? []], api: api, columns: ["id", "occurredAt", "type", "message"])
        }
    }
}

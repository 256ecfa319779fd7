import ArgumentParser
import Foundation
import Yams

/// `bullpen task create|assign|cancel|list|show`.
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Tasks: the units of work agents run.",
        subcommands: [Create.self, Split.self, Assign.self, Dispatch.self, Cancel.self, List.self, Show.self])

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

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create many tasks of a project at once, from a plan (YAML or JSON).",
            discussion: """
                The plan has a list `tasks`; each task has a `key` (its name within the plan), a `title`, and
                optionally `description`, `taskType`, `requiredSpecialization`, `priority`, `estimatedDurationMs`
                and `dependsOn` (keys of other tasks of the plan). All are created, in dependency order, or none;
                a cycle is refused. Example: docs/examples/plan.yaml.
                """)
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var project: Int64
        @Option(help: "The plan: .json, or else YAML.") var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let plan: Any?
            do {
                plan =
                    file.hasSuffix(".json")
                    ? try JSONSerialization.jsonObject(with: data)
                    : try Yams.load(yaml: String(decoding: data, as: UTF8.self))
            } catch {
                throw ValidationError("\(file) is not valid \(file.hasSuffix(".json") ? "JSON" : "YAML"): \(error)")
            }
            guard let tasks = (plan as? [String: Any])?["tasks"] as? [Any] else {
                throw ValidationError("\(file) needs a list 'tasks'")
            }
            FileHandle.standardError.write(Data("splitting project \(project) into \(tasks.count) tasks\n".utf8))
            try Output.issue("POST", "/v1/tasks/split", ["projectId": project, "tasks": tasks], api: api, wait: wait)
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

    struct Dispatch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a task on the gateway: its agent's, the one given, or the one routing picks.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "The agent to run it (a pending task only; default: routing picks).") var agent: Int64?
        @Option(help: "1 to 5, over the plan's rules.") var priority: Int?
        @Option(help: "Dispatch work that billing holds (past due, canceled, allowance used), and why.")
        var override: String?

        func run() throws {
            var body: [String: Any] = [:]
            body["agentId"] = agent
            body["priority"] = priority
            body["overrideReason"] = override
            try Output.issue("POST", "/v1/tasks/\(id)/dispatch", body, api: api, wait: wait)
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

import ArgumentParser
import BullpenAPIClient
import Crypto
import Foundation
import Yams

/// `bullpen task create|assign|cancel|list|show`.
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Tasks: the units of work agents run.",
        subcommands: [
            Create.self, Split.self, Assign.self, Dispatch.self, Cancel.self, Retry.self, List.self, Show.self,
            Explain.self, Session.self, Message.self, Abort.self,
            Wait.self,
        ])

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
        @Flag(help: "Send the plan even though the project already has tasks of the same titles.") var force = false

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
            let body: [String: Any] = ["projectId": project, "tasks": tasks]
            let client = try api.client()
            // Planning twice is planning once: the project's tasks already named by the plan are not made again.
            let titles = tasks.compactMap { ($0 as? [String: Any])?["title"] as? String }
            let existing = try Self.taskTitles(of: project, client: client)
            let (present, new) = (titles.filter(existing.contains), titles.filter { !existing.contains($0) })
            if !present.isEmpty && !force {
                if new.isEmpty {
                    print("project \(project) already has every task of \(file) (\(present.count)); nothing to add")
                    return
                }
                throw CLIFailure(
                    .refused,
                    "project \(project) already has \(present.count) of this plan's tasks (\(present.joined(separator: ", "))); "
                        + "it would add \(new.count): \(new.joined(separator: ", ")). Send it with --force to make the whole "
                        + "plan again, or remove the tasks it has from the file")
            }
            FileHandle.standardError.write(Data("splitting project \(project) into \(tasks.count) tasks\n".utf8))
            // The key is the plan's: the same file sent twice (a retry, two operators) is one command.
            let key = try Self.planKey(body)
            try Output.follow(
                try client.command("POST", "/v1/tasks/split", body, idempotencyKey: key), client: client, api: api,
                wait: wait)
        }

        /// An idempotency key derived from the project and the plan's content.
        static func planKey(_ body: [String: Any]) throws -> String {
            let canonical = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            return "plan-" + SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
        }

        /// The titles of the project's tasks (every page).
        static func taskTitles(of project: Int64, client: APIClient) throws -> Set<String> {
            var titles: Set<String> = []
            var cursor: String?
            repeat {
                let page = try client.get(
                    Output.path("/v1/tasks", [("project", String(project)), ("limit", "200"), ("cursor", cursor)]))
                for task in page["data"] as? [[String: Any]] ?? [] {
                    if let title = task["title"] as? String { titles.insert(title) }
                }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            return titles
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
        static let configuration = CommandConfiguration(
            abstract:
                "Cancel a task that has not started, and the tasks that depend on it (task retry brings them back).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var reason: String?

        func run() throws { try TaskCommand.issue("cancel", id, reason: reason, api: api, wait: wait) }
    }

    /// A command on one task whose one field is an optional reason (cancel, abort).
    static func issue(_ action: String, _ id: Int64, reason: String?, api: APIOptions, wait: WaitOptions) throws {
        var body: [String: Any] = [:]
        body["reason"] = reason
        try Output.issue("POST", "/v1/tasks/\(id)/\(action)", body, api: api, wait: wait)
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a failed or cancelled task pending again (a new attempt), with the tasks its cancellation took.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64

        func run() throws { try Output.issue("POST", "/v1/tasks/\(id)/retry", [:], api: api, wait: wait) }
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

    /// `bullpen task explain ID`: why the task is where it is (operators).
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Why is this task waiting? Its state's reasons now, and those recorded when its dispatch was decided.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            let explained = try api.client().get("/v1/tasks/\(id)/explain")
            if api.json { return Output.printJSON(explained) }
            print("task \(id): \(explained["status"] as? String ?? "?")")
            for reason in explained["reasons"] as? [String] ?? [] { print("  - \(reason)") }
        }
    }

    struct Session: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the transcript of a task's latest run on the gateway (chat.history; recorded as read).")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64
        @Option(help: "The latest messages, 1 to 500.") var limit: Int = 50

        func run() throws {
            let session = try api.client().get("/v1/tasks/\(id)/session?limit=\(limit)")
            if api.json { return Output.printJSON(session) }
            print("task \(id), attempt \(session["attempt"] ?? "?"), session \(session["sessionKey"] ?? "?")")
            for message in session["messages"] as? [[String: Any]] ?? [] {
                print("[\(message["role"] as? String ?? "?")] \(message["text"] as? String ?? "")")
            }
        }
    }

    struct Message: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a running task's agent a message (chat.send into its run's session).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Argument var text: String

        func run() throws {
            try Output.issue("POST", "/v1/tasks/\(id)/messages", ["message": text], api: api, wait: wait)
        }
    }

    struct Abort: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a running task's run (chat.abort): the task fails with the reason, and is not retried.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var reason: String?

        func run() throws { try TaskCommand.issue("abort", id, reason: reason, api: api, wait: wait) }
    }

    /// `bullpen task wait ID`: until the task's work ends, not just the command that started it.
    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a task to complete (exit 0) or fail (exit 1); exit 3 if it is still open at --timeout.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64
        @Option(help: "Seconds to wait.") var timeout: Double = 600

        func run() throws {
            let client = try api.client()
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let task = try client.get("/v1/tasks/\(id)")
                let status = task["status"] as? String ?? ""
                if status == "completed" || status == "failed" {
                    if api.json {
                        Output.printJSON(task)
                    } else {
                        print("task \(id) \(status)" + ((task["error"] as? String).map { ": \($0)" } ?? ""))
                    }
                    if status == "failed" { throw CLIFailure(.rejected, "task \(id) failed") }
                    return
                }
                guard Date() < deadline else {
                    throw CLIFailure(.timeout, "task \(id) was still \(status) after \(Int(timeout)) s")
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }
}

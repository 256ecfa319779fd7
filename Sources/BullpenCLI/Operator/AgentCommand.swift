import ArgumentParser
import BullpenDomain
import Foundation

/// `bullpen agent register|update|offline|configure|list|apply`.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Agents that run tasks.",
        subcommands: [
            Register.self, Update.self, Offline.self, SetStatus.self, Configure.self, List.self, Apply.self,
        ])

    /// `bullpen agent apply --file Config/agents.example.json`: the roster's new agents registered and the
    /// changed ones updated, through the same commands as by hand; agents it does not name are left alone.
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register and update agents from a roster file (see Config/agents.example.json).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option(help: "The roster: {\"agents\": [{name, specialization, capabilities, model, ...}]}.") var file: String
        @Flag(help: "Print what would be done, and do nothing.") var dryRun = false

        func run() throws {
            guard let bytes = FileManager.default.contents(atPath: file) else {
                throw CLIFailure(.usage, "cannot read \(file)")
            }
            let roster: AgentRoster
            do { roster = try AgentRoster(json: Array(bytes)) } catch {
                throw CLIFailure(.usage, "\(file): \(error)")
            }
            let client = try api.client()
            var known: [String: AgentRoster.Known] = [:]
            var cursor: String?
            repeat {
                let page = try client.get("/v1/agents?limit=200" + (cursor.map { "&cursor=\($0)" } ?? ""))
                for row in page["data"] as? [[String: Any]] ?? [] {
                    guard let name = row["name"] as? String, let id = (row["id"] as? NSNumber)?.int64Value else {
                        continue
                    }
                    known[name] = AgentRoster.Known(
                        id: id, specialization: (row["specialization"] as? String).flatMap(Specialization.init),
                        capabilities: (row["capabilities"] as? [String] ?? []).compactMap(Capability.init),
                        model: row["model"] as? String,
                        maxConcurrentTasks: (row["maxConcurrentTasks"] as? NSNumber)?.intValue ?? 0,
                        soul: row["soul"] as? String)
                }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            for step in roster.steps(known: known) {
                switch step {
                case .unchanged(let name, let id):
                    print("\(name): unchanged (agent \(id))")
                case .register(let agent):
                    print("\(agent.name): register")
                    if !dryRun { try Output.issue(agent, api: api, wait: wait) }
                case .update(let name, let changes):
                    var body = try Self.fields(changes)
                    body["id"] = nil
                    print("\(name): update \(body.keys.sorted().joined(separator: ", ")) (agent \(changes.id))")
                    if !dryRun { try Output.issue(changes, api: api, wait: wait) }
                }
            }
        }

        static func fields(_ payload: some Encodable) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(JSONBody.encode(payload))) as? [String: Any] ?? [:]
        }
    }

    struct Fields: ParsableArguments {
        @Option(help: "researcher, writer, coder, designer, reviewer or general.") var specialization: String?
        @Option(help: "Comma-separated: web_search, code_execution, image_generation, file_access.")
        var capabilities: String?
        @Option var model: String?
        @Option var maxConcurrentTasks: Int?
        @Option(help: "The agent's standing instructions.") var soul: String?
        @Option(help: "What a completed task of the agent costs, in cents (its cost in analytics).")
        var costPerTaskCents: Int?

        func add(to body: inout [String: Any]) {
            body["costPerTaskCents"] = costPerTaskCents
            body["specialization"] = specialization
            body["capabilities"] = capabilities.map { $0.split(separator: ",").map(String.init) }
            body["model"] = model
            body["maxConcurrentTasks"] = maxConcurrentTasks
            body["soul"] = soul
        }
    }

    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an agent (online).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var name: String
        @OptionGroup var fields: Fields

        func run() throws {
            var body: [String: Any] = ["name": name]
            fields.add(to: &body)
            try Output.issue("POST", "/v1/agents", body, api: api, wait: wait)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an agent.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var name: String?
        @OptionGroup var fields: Fields

        func run() throws {
            var body: [String: Any] = [:]
            body["name"] = name
            fields.add(to: &body)
            try Output.issue("PATCH", "/v1/agents/\(id)", body, api: api, wait: wait)
        }
    }

    struct Offline: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take an agent out of rotation.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64

        func run() throws { try Output.issue("POST", "/v1/agents/\(id)/offline", [:], api: api, wait: wait) }
    }

    /// `bullpen agent set-status ID --status online|offline|paused [--reason TEXT]`.
    struct SetStatus: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-status",
            abstract: "Set an agent online, offline or paused, with the reason (required for offline and paused).",
            discussion: """
                An operator's offline or paused stands: liveness (the gateway's agent list, hooks, runs) does not
                bring the agent back until an operator sets it online.
                """)
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "online, offline or paused.") var status: String
        @Option(help: "Why (shown with the agent).") var reason: String?

        func run() throws {
            var body: [String: Any] = ["status": status]
            body["reason"] = reason
            try Output.issue("POST", "/v1/agents/\(id)/status", body, api: api, wait: wait)
        }
    }

    struct Configure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Configure an agent for a Scale client: system prompt, brand guidelines, model, thinking, knowledge base.",
            discussion:
                "The gateway's agent method takes a model (provider/model, one of Config/models.json; the worker must ask for operator.admin, BULLPEN_GATEWAY_ADMIN=1) and a thinking level; it has no temperature or tool list, which belong to the gateway's own agent configuration. Knowledge files (text, markdown, CSV, JSON or HTML) are given to every run as text."
        )
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var client: Int64
        @Option var name: String
        @Option(help: "A file with the system prompt.") var systemPromptFile: String
        @Option(help: "A file with the brand guidelines.") var brandGuidelinesFile: String?
        @Option(help: "provider/model, one of Config/models.json.") var model: String?
        @Option(help: "off, minimal, low, medium, high or xhigh.") var thinking: String?
        @Option(name: .customLong("knowledge"), help: "A knowledge-base file (repeat for more).")
        var knowledge: [String] = []

        static let types = [
            "md": "text/markdown", "markdown": "text/markdown", "txt": "text/plain", "csv": "text/csv",
            "json": "application/json", "html": "text/html", "htm": "text/html",
        ]

        func run() throws {
            func read(_ path: String) throws -> String {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path)")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw ValidationError("\(path) is not UTF-8 text")
                }
                return text
            }
            var body: [String: Any] = ["clientId": client, "name": name, "systemPrompt": try read(systemPromptFile)]
            body["brandGuidelines"] = try brandGuidelinesFile.map(read)
            body["model"] = model
            body["thinking"] = thinking
            if !knowledge.isEmpty {
                body["knowledge"] = try knowledge.map { path -> [String: Any] in
                    let url = URL(fileURLWithPath: path)
                    guard let type = Self.types[url.pathExtension.lowercased()] else {
                        throw ValidationError(
                            "\(path): a knowledge file is .md, .txt, .csv, .json or .html (a run carries text only)")
                    }
                    return ["name": url.lastPathComponent, "contentType": type, "text": try read(path)]
                }
            }
            try Output.issue("PUT", "/v1/agents/\(id)/config", body, api: api, wait: wait)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List agents.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option var status: String?

        func run() throws {
            Output.list(
                try api.client().get(Output.path("/v1/agents", page.query + [("status", status)])), api: api,
                columns: [
                    "id", "name", "status", "statusReason", "specialization", "model", "maxConcurrentTasks",
                    "totalTasksCompleted", "lastSeen",
                ])
        }
    }
}

/// `bullpen command show ID [--wait]`.
struct CommandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command", abstract: "Operator commands and what became of them.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a command: accepted, applied or rejected.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: String

        func run() throws {
            let client = try api.client()
            let command =
                wait.wait ? try client.wait(for: id, timeout: wait.timeout) : try client.get("/v1/commands/\(id)")
            Output.show(
                command, api: api, fields: ["id", "kind", "status", "result", "error", "createdAt", "completedAt"])
            if command["status"] as? String == "rejected" { throw CLIFailure(.rejected, "command \(id) was rejected") }
        }
    }
}

/// `bullpen events list [--after CURSOR]`, `bullpen events tail [--after CURSOR]`. Events come in feed order
/// (by committing transaction, then id), each with an opaque cursor to resume after it.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "The audit log.", subcommands: [List.self, Tail.self])

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow events as they happen (Server-Sent Events); reconnects without missing any.")
        @OptionGroup var api: APIOptions
        @Option(help: "Start after this event's cursor, or 0 for the beginning (default: from now on).")
        var after: String?
        @Option(help: "Stop after this many events (default: never).") var count: Int?

        func run() throws {
            var seen = 0
            try api.client().followEvents(after: after) { event in
                // Written straight to the file descriptor, unbuffered: a pipe sees each event as it comes.
                let line =
                    api.json
                    ? Output.jsonText(event.data, pretty: false)
                    : "\(Output.text(event.data["occurredAt"]))  \(event.type)  " + Output.text(event.data["message"])
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                seen += 1
                return count.map { seen < $0 } ?? true
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Events after a cursor, in feed order; the last line says how to get the next page.")
        @OptionGroup var api: APIOptions
        @Option(
            help:
                "Start after this event's cursor (an event's cursor, or the --cursor a page printed); 0: the beginning."
        )
        var after: String?
        @OptionGroup var page: PageOptions

        func validate() throws {
            if after != nil && page.cursor != nil { throw ValidationError("give --after or --cursor, not both") }
        }

        func run() throws {
            let path = Output.path(
                "/v1/events", [("after", after ?? page.cursor ?? "0"), ("limit", String(page.limit))])
            Output.list(
                try api.client().get(path), api: api,
                columns: ["occurredAt", "type", "message", "projectId", "taskId", "cursor"])
        }
    }
}

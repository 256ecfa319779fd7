import ArgumentParser
import Foundation

/// `bullpen project create|update|archive|list|show`.
struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Projects: a client's brief, under a plan's terms.",
        subcommands: [
            Create.self, Update.self, Archive.self, Escalate.self, List.self, Show.self, Message.self, Messages.self,
        ])

    static let columns = ["id", "clientId", "name", "type", "status", "tier", "priority", "deadline"]

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a project from a brief.",
            discussion: """
                --from reads a Markdown brief: its first '# ' heading is the name (unless --name is given) and
                the whole file is the brief.
                """)
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Option var client: Int64
        @Option var name: String?
        @Option(help: "website, content, research ...") var type: String
        @Option(help: "The brief's text.") var brief: String?
        @Option(help: "A Markdown file with the brief.") var from: String?
        @Option(help: "ISO 8601, e.g. 2026-12-15T17:00:00Z.") var deadline: String?
        @Option(
            help: "sprint, pro or scale (default: the plan of --subscription, or of the client's current subscription)."
        )
        var tier: String?
        @Option var subscription: Int64?
        @Option(help: "Comma-separated.") var tags: String?

        func validate() throws {
            guard brief == nil || from == nil else { throw ValidationError("give --brief or --from, not both") }
            guard name != nil || from != nil else { throw ValidationError("--name is required without --from") }
        }

        func run() throws {
            var name = self.name
            var brief = self.brief
            if let from {
                guard let data = FileManager.default.contents(atPath: from) else {
                    throw ValidationError(
                        FileManager.default.fileExists(atPath: from)
                            ? "cannot read \(from): permission denied" : "cannot read \(from): no such file")
                }
                let text = String(decoding: data, as: UTF8.self)
                brief = text
                if name == nil {
                    name = text.split(separator: "\n").first { $0.hasPrefix("# ") }
                        .map { $0.dropFirst(2).trimmingCharacters(in: .whitespaces) }
                }
                guard name != nil else { throw ValidationError("\(from) has no '# ' heading; give --name") }
            }
            var body: [String: Any] = ["clientId": client, "name": name!, "type": type]
            body["brief"] = brief
            body["deadline"] = deadline
            body["tier"] = tier
            body["subscriptionId"] = subscription
            body["tags"] = tags.map { $0.split(separator: ",").map(String.init) }
            try Output.issue("POST", "/v1/projects", body, api: api, wait: wait)
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename, re-brief or re-date a project.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option var name: String?
        @Option var brief: String?
        @Option var deadline: String?
        @Option var tags: String?

        func run() throws {
            var body: [String: Any] = [:]
            body["name"] = name
            body["brief"] = brief
            body["deadline"] = deadline
            body["tags"] = tags.map { $0.split(separator: ",").map(String.init) }
            try Output.issue("PATCH", "/v1/projects/\(id)", body, api: api, wait: wait)
        }
    }

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archive a project: it takes no new tasks.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64

        func run() throws { try Output.issue("POST", "/v1/projects/\(id)/archive", [:], api: api, wait: wait) }
    }

    struct Escalate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The client escalated the project: its open work goes to Critical (5), the reason on each task.")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "Why, in the client's words.") var reason: String

        func run() throws {
            try Output.issue("POST", "/v1/projects/\(id)/escalate", ["reason": reason], api: api, wait: wait)
        }
    }

    struct Message: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write on the project's thread with its client: an operator's answer (the client is emailed), or with a client token the client's message (the operators are told)."
        )
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "The message.") var body: String

        func run() throws {
            try Output.issue("POST", "/v1/projects/\(id)/messages", ["body": body], api: api, wait: wait)
        }
    }

    struct Messages: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The project's thread with its client, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Argument var id: Int64

        func run() throws {
            Output.list(
                try api.client().get(Output.path("/v1/projects/\(id)/messages", page.query)), api: api,
                columns: ["id", "createdAt", "sender", "senderName", "channel", "content"])
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option var status: String?
        @Option var client: Int64?

        func run() throws {
            let path = Output.path(
                "/v1/projects", page.query + [("status", status), ("client", client.map(String.init))])
            Output.list(try api.client().get(path), api: api, columns: ProjectCommand.columns)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a project with its tasks and SLA records.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            let project = try api.client().get("/v1/projects/\(id)")
            Output.show(
                project, api: api,
                fields: ProjectCommand.columns + ["slaResponseHours", "slaDeliveryHours", "maxRevisions", "tags"])
            guard !api.json else { return }
            print("\ntasks")
            Output.list(["data": project["tasks"] ?? []], api: api, columns: TaskCommand.columns)
            print("\nSLA records")
            Output.list(
                ["data": project["slaRecords"] ?? []], api: api, columns: ["id", "type", "status", "deadlineAt"])
        }
    }
}

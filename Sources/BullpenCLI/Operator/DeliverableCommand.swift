import ArgumentParser
import BullpenAPIClient
import Foundation

/// `bullpen deliverable ...`: deliverable versions, the review decisions on them, and their files.
struct DeliverableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliverable", abstract: "Deliverables: versions of a task's work that a human reviews.",
        subcommands: [
            List.self, Show.self, Approve.self, Deliver.self, Revise.self, Reject.self, Feedback.self, Attach.self,
            Files.self,
        ])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliverable versions, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this status's (draft, review, approved, delivered, rejected).") var status: String?
        @Option(help: "Only this project's.") var project: Int64?

        func run() throws {
            Output.list(
                try api.client().get(
                    Output.path(
                        "/v1/deliverables", page.query + [("status", status), ("project", project.map(String.init))])),
                api: api,
                columns: ["id", "projectId", "taskId", "version", "status", "title", "createdAt", "deliveredAt"])
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One deliverable version, with its content.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            Output.show(
                try api.client().get("/v1/deliverables/\(id)"), api: api,
                fields: [
                    "id", "projectId", "taskId", "title", "version", "previousVersionId", "status", "clientVisible",
                    "createdAt", "deliveredAt", "reviewNotes", "revisionRequestedAt", "revisionNotes",
                    "clientFeedback", "clientRating", "content",
                ])
        }
    }

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

    struct Revise: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Ask for a revision: a priority-5 revision task goes to the same agent and is dispatched (counts against the plan's revision rounds)."
        )
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "What to change: the revision task's brief.") var notes: String
        @Option(help: "Allow a round past the plan's limit, and why.") var override: String?

        func run() throws {
            var body = ["notes": notes]
            if let override { body["overrideReason"] = override }
            try Output.issue("POST", "/v1/deliverables/\(id)/revision", body, api: api, wait: wait)
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Reject a version on quality: it counts in the agent's failure rate, and another agent of the specialization does the work again."
        )
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "Why it failed review: recorded, and the new task's brief.") var notes: String

        func run() throws {
            try Output.issue("POST", "/v1/deliverables/\(id)/reject", ["notes": notes], api: api, wait: wait)
        }
    }

    struct Feedback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A client's feedback and 1-5 rating on a deliverable delivered to it (a client token).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Option(help: "1 to 5.") var rating: Int?
        @Option(help: "The client's words.") var feedback: String?

        func run() throws {
            var body: [String: Any] = [:]
            if let rating { body["rating"] = rating }
            if let feedback { body["feedback"] = feedback }
            try Output.issue("POST", "/v1/deliverables/\(id)/feedback", body, api: api, wait: wait)
        }
    }

    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attach a file to a deliverable version (stored by content; 10 MiB at most by default).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument var id: Int64
        @Argument(help: "The file.") var path: String
        @Option(help: "Its type (default: from the extension).") var type: String?

        func run() throws {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIFailure(.usage, "cannot read \(path)")
            }
            let name = (path as NSString).lastPathComponent
            let contentType =
                type ?? Self.types[(name as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
            let client = try api.client()
            let query =
                name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? name
            try Output.follow(
                try client.upload(
                    "/v1/deliverables/\(id)/files?name=\(query)", bytes: Array(data), contentType: contentType),
                client: client, api: api, wait: wait)
        }

        static let types = [
            "pdf": "application/pdf", "zip": "application/zip", "json": "application/json", "txt": "text/plain",
            "md": "text/markdown", "csv": "text/csv", "html": "text/html", "png": "image/png", "jpg": "image/jpeg",
            "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
        ]
    }

    struct Files: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A deliverable version's files, with download links that expire.")
        @OptionGroup var api: APIOptions
        @Argument var id: Int64

        func run() throws {
            Output.list(
                try api.client().get("/v1/deliverables/\(id)/files"), api: api,
                columns: ["fileId", "name", "contentType", "sizeBytes", "url"])
        }
    }
}

import ArgumentParser
import BullpenAPIClient
import BullpenDomain
import Foundation

/// `bullpen dlq list|show|replay|purge`: parked messages, through the operator API like every other command.
struct DeadLetterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Parked messages: list, show, replay, purge.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parked messages, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this queue's (command, dispatch, review, billing, notify).") var queue: String?

        func run() throws {
            Output.list(
                try api.client().get(Output.path("/v1/dead-letters", page.query + [("queue", queue)])), api: api,
                columns: ["id", "queue", "messageId", "type", "attempts", "parkedAt", "reason"])
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One dead letter, with its headers and body.")
        @OptionGroup var api: APIOptions
        @Argument(help: "The dead letter's id (from list).") var id: Int64

        func run() throws {
            var row = try api.client().get("/v1/dead-letters/\(id)")
            if let body = row["body"] as? String, let bytes = Data(base64Encoded: body) {
                row["body"] = String(decoding: bytes, as: UTF8.self)
            }
            Output.show(
                row, api: api,
                fields: [
                    "id", "queue", "status", "messageId", "type", "priority", "attempts", "parkedAt", "resolvedAt",
                    "reason", "headers", "body",
                ])
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send parked messages back to their work queues as attempt 1 (after fixing their cause).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument(help: "Dead letter ids; none with --all.") var ids: [Int64] = []
        @Flag(help: "Every message parked when the command starts (with --queue, that queue's), in pages.")
        var all = false
        @Option(help: "With --all: only this queue's.") var queue: String?

        func validate() throws {
            if ids.isEmpty != all { throw ValidationError("give dead letter ids, or --all") }
            if queue != nil, !all { throw ValidationError("--queue goes with --all") }
        }

        func run() throws {
            guard all else {
                return try Output.issue("POST", "/v1/dead-letters/replay", ["ids": ids], api: api, wait: wait)
            }
            try DeadLetterCommand.replayAll(queue: queue, api: api, timeout: wait.timeout)
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give up on parked messages: by id, or every one of a queue (rows are kept, marked purged).")
        @OptionGroup var api: APIOptions
        @OptionGroup var wait: WaitOptions
        @Argument(help: "Dead letter ids; none with --queue.") var ids: [Int64] = []
        @Option(help: "Purge every parked message of this queue.") var queue: String?

        func validate() throws {
            if ids.isEmpty == (queue == nil) { throw ValidationError("give dead letter ids, or --queue") }
        }

        func run() throws {
            let body: [String: Any] = queue.map { ["queue": $0] } ?? ["ids": ids]
            try Output.issue("POST", "/v1/dead-letters/purge", body, api: api, wait: wait)
        }
    }

    /// Replays what is parked now, in commands of at most 1,000 ids, each followed to applied, with a
    /// progress line per page on stderr. Messages parked after it starts are left for the next run.
    static func replayAll(queue: String?, api: APIOptions, timeout: Double) throws {
        let client = try api.client()
        var ids: [Int64] = []
        var cursor: String?
        repeat {
            let page = try client.get(
                Output.path("/v1/dead-letters", [("queue", queue), ("limit", "200"), ("cursor", cursor)]))
            ids += (page["data"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
            cursor = page["nextCursor"] as? String
        } while cursor != nil
        var done: [Int64] = []
        var skipped: [Int64] = []
        var commands: [String] = []
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let batch = Array(ids[start..<min(start + 1000, ids.count)])
            let (id, _) = try client.send(DeadLetterReplay(ids: batch))
            commands.append(id)
            let command = try client.wait(for: id, timeout: timeout)
            guard command["status"] as? String == "applied", let result = command["result"] as? [String: Any] else {
                throw CLIFailure(.rejected, "command \(id) was rejected: \(command["error"] as? String ?? "no reason")")
            }
            done += (result["replayed"] as? [NSNumber] ?? []).map(\.int64Value)
            skipped += (result["notParked"] as? [NSNumber] ?? []).map(\.int64Value)
            FileHandle.standardError.write(Data("replay: \(done.count + skipped.count) of \(ids.count)\n".utf8))
        }
        if api.json {
            Output.printJSON(["commandIds": commands, "replayed": done, "notParked": skipped])
        } else {
            print("replayed \(done.count)" + (skipped.isEmpty ? "" : "; \(skipped.count) no longer parked"))
        }
    }
}

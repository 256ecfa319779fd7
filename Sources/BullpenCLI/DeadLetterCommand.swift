import AMQP
import ArgumentParser
import BullpenDomain
import BullpenMessaging
import Foundation
import PostgreSQL

/// `bullpen dlq list|show|replay|purge QUEUE`: parked messages. Talks to the broker and the database directly
/// for now; it moves behind the operator API later.
struct DeadLetterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Parked messages: list, show, replay, purge.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self])

    struct Target: ParsableArguments {
        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The queue's short name (dispatch, review, billing, notify).")
        var queue: String

        func open() throws -> (DeadLetterAdmin, () -> Void) {
            let topology = try connection.topology()
            let workQueue: WorkQueue
            do {
                workQueue = try topology.queue(named: queue)
            } catch let error as TopologyError {
                throw ValidationError(error.description)
            }
            let amqp = try AMQPConnection(try connection.amqp())
            let db = try PGConnection(try connection.postgres())
            let dlq = try DeadLetterAdmin(topology: topology, queue: workQueue, connection: amqp, db: db)
            return (
                dlq,
                {
                    amqp.close()
                    db.close()
                }
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Parked messages of a queue, oldest first.")
        @OptionGroup var target: Target
        @Option(help: "At most this many.") var limit = 100

        func run() throws {
            let (dlq, close) = try target.open()
            defer { close() }
            let rows = try dlq.list(limit: limit)
            print(
                "\(rows.count) parked in \(target.queue) (\(try dlq.depth()) in \(dlq.topology.deadQueue(dlq.queue)))")
            for row in rows {
                print(
                    "\(row.id)\t\(row.messageID ?? "-")\t\(row.type ?? "-")\tattempts \(row.attempts)\t\(row.parkedAt)\t\(row.reason)"
                )
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One parked message, with its headers and body.")
        @OptionGroup var target: Target
        @Argument(help: "The dead letter's id (from list).") var id: Int64

        func run() throws {
            let (dlq, close) = try target.open()
            defer { close() }
            guard let row = try dlq.show(id: id) else {
                throw ValidationError("no dead letter \(id) in \(target.queue)")
            }
            print("id:         \(row.id)")
            print("status:     \(row.status)")
            print("message id: \(row.messageID ?? "-")")
            print("type:       \(row.type ?? "-")")
            print("attempts:   \(row.attempts)")
            print("parked at:  \(row.parkedAt)")
            print("reason:     \(row.reason)")
            print("headers:    \(row.headersJSON)")
            print("body:       \(String(decoding: row.body, as: UTF8.self))")
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send parked messages back to the work queue as attempt 1.")
        @OptionGroup var target: Target
        @Argument(help: "Dead letter ids; none with --all.") var ids: [Int64] = []
        @Flag(help: "Replay every parked message of the queue.") var all = false

        func validate() throws {
            if ids.isEmpty != all { throw ValidationError("give dead letter ids, or --all") }
        }

        func run() throws {
            let (dlq, close) = try target.open()
            defer { close() }
            let report = try dlq.replay(ids: all ? nil : ids)
            print("replayed \(report.replayed.count): \(report.replayed.map(String.init).joined(separator: " "))")
            if !report.notParked.isEmpty {
                print(
                    "not parked (already replayed or purged, or unknown): \(report.notParked.map(String.init).joined(separator: " "))"
                )
            }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop every parked message of a queue (rows are kept, marked purged).")
        @OptionGroup var target: Target

        func run() throws {
            let (dlq, close) = try target.open()
            defer { close() }
            let (messages, rows) = try dlq.purge()
            print("purged \(messages) messages from \(dlq.topology.deadQueue(dlq.queue)); \(rows) rows marked purged")
        }
    }
}

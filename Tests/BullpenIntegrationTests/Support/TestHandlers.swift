import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import PostgreSQL

/// Message types of the tests, on the notify queue, each applied by a real handler that inserts into
/// `test_log` (created in the test's schema), so tests can see what was applied, in what order and at which
/// attempt.
enum TestLog {
    static let createTable = """
        CREATE TABLE test_log (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id text NOT NULL,
                               attempt integer NOT NULL, priority integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
        """

    static func record(_ inbound: InboundMessage, in tx: PGConnection) throws {
        try tx.query(
            "INSERT INTO test_log (message_id, attempt, priority) VALUES ($1, $2, $3)",
            [inbound.messageID, inbound.attempt, inbound.priority])
    }
}

/// Applied by ``RecordHandler``; parked when its note is `poison`.
struct TestRecord: BullpenMessage {
    static let name = "test.record"
    static let queue = WorkQueue.notify
    static let schemaVersion = 1
    var schema = 1
    var id: String
    var note = "ok"
    var messageID: String { id }
}

struct RecordHandler: MessageHandler {
    func handle(_ message: TestRecord, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        if message.note == "poison" { throw HandlerError.park(reason: "poison body") }
        try TestLog.record(inbound, in: tx)
        return .applied
    }
}

/// Fails (retry later) until attempt `succeedAt`, then applies.
struct TestFlaky: BullpenMessage {
    static let name = "test.flaky"
    static let queue = WorkQueue.notify
    static let schemaVersion = 1
    var schema = 1
    var id: String
    var succeedAt: Int
    var messageID: String { id }
}

struct FlakyHandler: MessageHandler {
    func handle(_ message: TestFlaky, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        if inbound.attempt < message.succeedAt {
            throw HandlerError.retryLater(reason: "flaky: attempt \(inbound.attempt)")
        }
        try TestLog.record(inbound, in: tx)
        return .applied
    }
}

/// Its handler writes a follow-up ``TestRecord`` to the outbox.
struct TestFollowUp: BullpenMessage {
    static let name = "test.follow-up"
    static let queue = WorkQueue.notify
    static let schemaVersion = 1
    var schema = 1
    var id: String
    var messageID: String { id }
}

struct FollowUpHandler: MessageHandler {
    func handle(_ message: TestFollowUp, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        try Outbox.enqueue(TestRecord(id: "follow-up:\(message.id)", note: "f"), in: tx)
        return .applied
    }
}

extension TestTopology {
    /// Publishes a message as the ingest would, with an AMQP priority of the test's choosing.
    func publish<Message: BullpenMessage>(_ message: Message, priority: UInt8? = nil) throws {
        var outgoing = try Envelope.outgoing(message, topology: topology, appID: "test")
        if let priority { outgoing.properties.priority = priority }
        try admin.publish(
            exchange: outgoing.exchange, routingKey: outgoing.routingKey, body: outgoing.body,
            properties: outgoing.properties)
    }
}

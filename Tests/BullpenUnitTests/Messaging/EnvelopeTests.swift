import AMQP
import BullpenDomain
import Foundation
import PostgreSQL
import Testing

@testable import BullpenMessaging

@Suite("Envelope")
struct EnvelopeTests {
    let topology = Topology(
        prefix: "p",
        queues: WorkQueue.allCases.map { QueueSpec(queue: $0, maxPriority: 5, retryDelaysSeconds: [1], maxAttempts: 2) }
    )
    let message = TaskResultMessage(
        report: TaskResultReport(taskId: 42, status: .completed, output: "done"), attempt: 3, receivedAt: 7, priority: 4
    )

    @Test("a typed message is addressed by its type: queue, name, id, priority, persistent JSON, attempt 1")
    func outgoing() throws {
        let outgoing = try Envelope.outgoing(message, topology: topology, correlationID: "c", appID: "test")
        #expect(outgoing.exchange == "p.work")
        #expect(outgoing.routingKey == "review")
        #expect(outgoing.mandatory)
        let properties = outgoing.properties
        #expect(properties.messageID == "task-result:42:3")
        #expect(properties.type == "task.result")
        #expect(properties.priority == 4)
        #expect(properties.correlationID == "c")
        #expect(properties.persistent)
        #expect(properties.contentType == "application/json")
        #expect(properties.headers.isEmpty, "a first delivery carries no header table")
        let inbound = InboundMessage(
            delivery: AMQPDelivery(
                channel: 1, consumerTag: "c", deliveryTag: 1, redelivered: false, exchange: outgoing.exchange,
                routingKey: outgoing.routingKey, properties: properties, body: outgoing.body),
            queue: "review")
        #expect(inbound.attempt == 1)
        #expect(try JSONDecoder().decode(TaskResultMessage.self, from: Data(outgoing.body)) == message)
    }

    @Test("an outbox row is published with the same properties its type would get, to its queue")
    func outboxRow() throws {
        let entry = Outbox.Entry(
            messageID: message.messageID, queue: "review", type: TaskResultMessage.name, priority: 4,
            headersJSON: #"{"tenant": "client-9"}"#, body: try Envelope.body(message))
        let fromOutbox = Envelope.outgoing(entry, topology: topology)
        let direct = try Envelope.outgoing(message, topology: topology, appID: "bullpen-outbox")
        #expect(fromOutbox.routingKey == direct.routingKey)
        #expect(fromOutbox.body == direct.body)
        #expect(fromOutbox.properties.messageID == direct.properties.messageID)
        #expect(fromOutbox.properties.type == direct.properties.type)
        #expect(fromOutbox.properties.priority == direct.properties.priority)
        #expect(fromOutbox.properties.headers[MessageHeader.attempt] == nil)
        #expect(fromOutbox.properties.headers["tenant"] == .string("client-9"))
    }

    @Test("retry and dead-letter copies carry the attempt, the error and the reason; a replay forgets them")
    func copies() {
        let original = Envelope.properties(messageID: "m", type: "t", priority: 2, appID: "test")
        let retry = Envelope.retryCopy(of: original, nextAttempt: 3, reason: String(repeating: "x", count: 5000))
        #expect(retry.headers[MessageHeader.attempt] == .int32(3))
        #expect(retry.headers[MessageHeader.lastError] == .string(String(repeating: "x", count: 1000)))
        var parked = Envelope.parkedCopy(of: retry, reason: "poison", from: "review")
        #expect(parked.headers[MessageHeader.reason] == .string("poison"))
        #expect(parked.headers[MessageHeader.parkedFrom] == .string("review"))
        parked.headers["x-death"] = .array([])
        parked.headers["tenant"] = .string("client-9")
        let replay = Envelope.replayCopy(of: parked, now: Date(timeIntervalSince1970: 100))
        #expect(replay.headers[MessageHeader.attempt] == nil, "a replay is attempt 1 again")
        #expect(replay.headers[MessageHeader.replayedAt] == .timestamp(100))
        for gone in [
            MessageHeader.attempt, MessageHeader.reason, MessageHeader.parkedFrom, MessageHeader.lastError, "x-death",
        ] {
            #expect(replay.headers[gone] == nil, "\(gone) survived the replay")
        }
        #expect(replay.headers["tenant"] == .string("client-9"))
        #expect(replay.messageID == "m")
    }

    /// A message with a time in it, as messages of later work will have.
    struct Dated: BullpenMessage, Equatable {
        static let name = "test.dated"
        static let queue = WorkQueue.notify
        static let schemaVersion = 1
        var schema = 1
        var at: Date
        var messageID: String { "dated" }
    }

    @Test("what the envelope writes, a delivery reads: one encoder and its decoder (times in ISO 8601)")
    func dates() throws {
        let message = Dated(at: Date(timeIntervalSince1970: 1_800_000_000))
        let outgoing = try Envelope.outgoing(message, topology: topology, appID: "test")
        #expect(String(decoding: outgoing.body, as: UTF8.self).contains("2027-01-15T08:00:00Z"))
        let inbound = InboundMessage(
            delivery: AMQPDelivery(
                channel: 1, consumerTag: "c", deliveryTag: 1, redelivered: false, exchange: outgoing.exchange,
                routingKey: outgoing.routingKey, properties: outgoing.properties, body: outgoing.body),
            queue: "notify")
        #expect(try inbound.decode(Dated.self) == message)
    }
}

@Suite("Handler registry")
struct HandlerRegistryTests {
    struct Noted: BullpenMessage {
        static let name = "test.noted"
        static let queue = WorkQueue.notify
        static let schemaVersion = 2
        var schema = 2
        var note: String
        var messageID: String { "noted:\(note)" }
    }

    struct NotedHandler: MessageHandler {
        typealias Message = Noted
        func handle(_ message: Noted, _ inbound: InboundMessage, in transaction: PGConnection) throws -> HandlerResult {
            .applied
        }
    }

    func inbound(_ body: String) -> InboundMessage {
        InboundMessage(
            delivery: AMQPDelivery(
                channel: 1, consumerTag: "c", deliveryTag: 1, redelivered: false, exchange: "x", routingKey: "notify",
                properties: Envelope.properties(messageID: "m", type: Noted.name, priority: nil, appID: "test"),
                body: Array(body.utf8)),
            queue: "notify")
    }

    @Test("handlers are found by their message type's name, under their message type's queue")
    func lookup() throws {
        let registry = try HandlerRegistry([NotedHandler()])
        #expect(registry.queues == [.notify])
        #expect(registry.handlers(for: .notify).keys.sorted() == ["test.noted"])
        #expect(registry.handlers(for: .review).isEmpty)
        #expect(throws: TopologyError.self) { try HandlerRegistry([NotedHandler(), NotedHandler()]) }
    }

    @Test("a body that does not decode, or has another schema version, is parked with the reason")
    func decoding() throws {
        let decoded = try ErasedHandler.decode(Noted.self, inbound(#"{"schema": 2, "note": "hi"}"#))
        #expect(decoded.note == "hi")
        #expect {
            try ErasedHandler.decode(Noted.self, inbound(#"{"schema": 1, "note": "hi"}"#))
        } throws: { error in
            guard case HandlerError.park(let reason) = error else { return false }
            return reason.contains("schema version 1") && reason.contains("reads version 2")
        }
        #expect {
            try ErasedHandler.decode(Noted.self, inbound("not json"))
        } throws: { error in
            guard case HandlerError.park(let reason) = error else { return false }
            return reason.contains("does not decode")
        }
    }
}

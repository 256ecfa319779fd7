import AMQP
import BullpenDomain
import Foundation

/// Builds the AMQP side of every message Bullpen publishes: ingest's, the outbox relay's, the retry and
/// dead-letter copies the consumers make, the operator's replays and the benchmark's. Properties and headers
/// are set here and nowhere else.
public enum Envelope {
    /// The properties of a first publish: persistent JSON, with identity and priority. A first delivery carries
    /// no attempt header (its absence means attempt 1): most messages then have no header table at all, which
    /// the broker stores and the consumer decodes for nothing.
    public static func properties(
        messageID: String, type: String, priority: Int?, correlationID: String? = nil, appID: String,
        headers: AMQPTable = [:], now: Date = Date()
    ) -> AMQPProperties {
        AMQPProperties(
            contentType: "application/json", persistent: true, priority: priority.map { UInt8(clamping: $0) },
            correlationID: correlationID, messageID: messageID, timestamp: UInt64(now.timeIntervalSince1970),
            type: type, appID: appID, headers: headers)
    }

    /// A typed message, addressed to its queue on the work exchange.
    public static func outgoing<Message: BullpenMessage>(
        _ message: Message, topology: Topology, correlationID: String? = nil, appID: String
    ) throws -> OutgoingMessage {
        OutgoingMessage(
            exchange: topology.workExchange, routingKey: topology.routingKey(Message.queue, priority: message.priority),
            body: try body(message),
            properties: properties(
                messageID: message.messageID, type: Message.name, priority: message.priority,
                correlationID: correlationID, appID: appID))
    }

    /// A committed outbox row, addressed as its message type was when it was written.
    public static func outgoing(
        _ entry: Outbox.Entry, topology: Topology, appID: String = "bullpen-outbox"
    ) -> OutgoingMessage {
        OutgoingMessage(
            exchange: topology.workExchange,
            routingKey: WorkQueue(rawValue: entry.queue).map { topology.routingKey($0, priority: entry.priority) }
                ?? entry.queue,
            body: entry.body,
            properties: properties(
                messageID: entry.messageID, type: entry.type, priority: entry.priority,
                correlationID: entry.correlationID,
                appID: appID, headers: AMQPTable(json: entry.headersJSON)))
    }

    /// The JSON body of a message, keys sorted: the same message always has the same bytes.
    public static func body<Message: BullpenMessage>(_ message: Message) throws -> [UInt8] {
        try JSONBody.encode(message)
    }

    /// A delivery's copy for a retry tier: the next attempt, with the error that sent it there.
    public static func retryCopy(of properties: AMQPProperties, nextAttempt: Int, reason: String) -> AMQPProperties {
        var copy = properties
        copy.headers[MessageHeader.attempt] = .int32(Int32(clamping: nextAttempt))
        copy.headers[MessageHeader.lastError] = .string(String(reason.prefix(MessageHeader.maxTextLength)))
        return copy
    }

    /// A delivery's copy for its dead-letter queue, with the reason it was parked.
    public static func parkedCopy(of properties: AMQPProperties, reason: String, from queue: String) -> AMQPProperties {
        var copy = properties
        copy.headers[MessageHeader.reason] = .string(String(reason.prefix(MessageHeader.maxTextLength)))
        copy.headers[MessageHeader.parkedFrom] = .string(queue)
        return copy
    }

    /// A parked message sent back to its work queue by an operator: attempt 1 again (no attempt header), its earlier life
    /// forgotten, persistent.
    public static func replayCopy(of properties: AMQPProperties, now: Date = Date()) -> AMQPProperties {
        var copy = properties
        copy.headers = replayHeaders(properties.headers, now: now)
        copy.persistent = true
        return copy
    }

    /// A parked message's headers for its replay: its earlier life and attempt count removed, the replay's time added.
    public static func replayHeaders(_ headers: AMQPTable, now: Date = Date()) -> AMQPTable {
        var copy = headers
        for key in MessageHeader.earlierLife { copy.removeValue(forKey: key) }
        copy.removeValue(forKey: MessageHeader.attempt)
        copy[MessageHeader.replayedAt] = .timestamp(UInt64(now.timeIntervalSince1970))
        return copy
    }
}

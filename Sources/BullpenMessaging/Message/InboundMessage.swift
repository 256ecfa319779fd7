import AMQP
import BullpenDomain
import Foundation

/// A delivery as a handler sees it: the message's identity, type and body, without AMQP bookkeeping.
public struct InboundMessage: Sendable {
    /// Deterministic id of the message (`task-result:42:1`); the inbox key.
    public let messageID: String
    public let type: String?
    public let priority: Int
    public let correlationID: String?
    /// Which delivery attempt this is (1 for the first), from the attempt header (``MessageHeader/attempt``).
    public let attempt: Int
    public let redelivered: Bool
    /// Set when this delivery's handler may already have run once in this consumer, its effect rolled back
    /// (a batch whose fast path failed is applied again one message at a time). A handler with an effect
    /// outside PostgreSQL checks whether that effect happened before making it again.
    public internal(set) var reapplied = false
    public let headers: AMQPTable
    public let body: [UInt8]
    /// The queue's short name.
    public let queue: String

    public init(delivery: AMQPDelivery, queue: String) {
        messageID = delivery.properties.messageID ?? ""
        type = delivery.properties.type
        priority = Int(delivery.properties.priority ?? 0)
        correlationID = delivery.properties.correlationID
        attempt = delivery.properties.headers[MessageHeader.attempt]?.intValue ?? 1
        redelivered = delivery.redelivered
        headers = delivery.properties.headers
        body = delivery.body
        self.queue = queue
    }

    /// Decodes the JSON body; a body that does not decode is a permanent failure (the message is parked).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONBody.decodeTrusted(T.self, from: body)
        } catch {
            throw HandlerError.park(reason: "the body does not decode as \(T.self): \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, _): return "missing field \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "field \(path): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

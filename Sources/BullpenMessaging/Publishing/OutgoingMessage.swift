import AMQP

/// A message to publish persistently, with a confirm.
public struct OutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: AMQPProperties
    /// Unroutable messages come back as errors instead of vanishing. Default true.
    public var mandatory: Bool

    public init(exchange: String, routingKey: String, body: [UInt8], properties: AMQPProperties, mandatory: Bool = true)
    {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}

/// Why a publish did not end in a confirm. Every case means: the broker did not take the message,
/// so the caller must not report success (ingest answers 503 and the producer retries).
public struct PublishError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection, the connection broke, or no confirm came within the deadline.
        case unavailable
        /// The broker nacked the message.
        case rejected
        /// No queue is bound for the routing key (the topology is missing).
        case unroutable
    }

    public let kind: Kind
    public let message: String

    public var description: String { "publish \(kind): \(message)" }
}

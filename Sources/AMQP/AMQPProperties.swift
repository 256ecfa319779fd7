/// The basic properties of a message, as published or delivered.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    /// Persistent messages (delivery mode 2) survive a broker restart in durable queues. Default true.
    public var persistent: Bool
    /// 0...255; Bullpen uses 1...5.
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as text (AMQP's convention).
    public var expiration: String?
    public var messageID: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var appID: String?
    public var headers: AMQPTable

    public init(
        contentType: String? = nil, persistent: Bool = true, priority: UInt8? = nil, correlationID: String? = nil,
        replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil, timestamp: UInt64? = nil,
        type: String? = nil, appID: String? = nil, headers: AMQPTable = [:]
    ) {
        self.contentType = contentType
        self.persistent = persistent
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.appID = appID
        self.headers = headers
    }
}

/// A message handed to a consumer. Ack, nack or reject it by its delivery tag on its channel.
public struct AMQPDelivery: Sendable {
    public let channel: UInt16
    public let consumerTag: String
    public let deliveryTag: UInt64
    /// The broker delivered this message before and did not get an ack for it.
    public let redelivered: Bool
    public let exchange: String
    public let routingKey: String
    public let properties: AMQPProperties
    public let body: [UInt8]

    public init(
        channel: UInt16, consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String,
        routingKey: String, properties: AMQPProperties, body: [UInt8]
    ) {
        self.channel = channel
        self.consumerTag = consumerTag
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}

/// A mandatory message the broker could not route, sent back with basic.return.
public struct AMQPReturnedMessage: Sendable {
    public let channel: UInt16
    public let replyCode: UInt16
    public let replyText: String
    public let exchange: String
    public let routingKey: String
    public let properties: AMQPProperties
    public let body: [UInt8]

    public init(
        channel: UInt16, replyCode: UInt16, replyText: String, exchange: String, routingKey: String,
        properties: AMQPProperties, body: [UInt8]
    ) {
        self.channel = channel
        self.replyCode = replyCode
        self.replyText = replyText
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}

/// Something the broker sent that is not the reply to a synchronous call.
public enum AMQPEvent: Sendable {
    case delivery(AMQPDelivery)
    /// Publisher confirm: the broker took responsibility for the message(s).
    case publisherAck(channel: UInt16, deliveryTag: UInt64, multiple: Bool)
    /// Publisher confirm: the broker could not take the message(s); publish again.
    case publisherNack(channel: UInt16, deliveryTag: UInt64, multiple: Bool)
    case returned(AMQPReturnedMessage)
    /// The broker closed the channel; close-ok has already been sent, so the number may be reopened.
    case channelClosed(channel: UInt16, replyCode: UInt16, replyText: String)
    /// The broker cancelled a consumer (for example, its queue was deleted).
    case consumerCancelled(channel: UInt16, consumerTag: String)
}

/// An error from the AMQP layer. The description never contains credentials.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; callers decide on retry or reconnect from it.
    public enum Kind: Sendable, Equatable {
        /// The URL or settings are wrong; retrying will not help.
        case invalidConfiguration
        /// TCP connect or login failed.
        case connectFailed
        /// The connection is gone (socket error, heartbeat timeout, broker closed it).
        case connectionLost
        /// The broker closed a channel (for example 404 NOT_FOUND, 406 PRECONDITION_FAILED).
        case channelClosed
        /// A call did not complete within its timeout.
        case timeout
        /// Any other library failure.
        case library
    }

    public let kind: Kind
    /// The AMQP reply code where the broker sent one (404, 406, 320 ...).
    public let replyCode: UInt16?
    /// The channel concerned, where there is one.
    public let channel: UInt16?
    public let message: String

    public init(_ kind: Kind, _ message: String, replyCode: UInt16? = nil, channel: UInt16? = nil) {
        self.kind = kind
        self.message = message
        self.replyCode = replyCode
        self.channel = channel
    }

    /// True when the whole connection must be rebuilt.
    public var isConnectionLevel: Bool {
        kind == .connectionLost || kind == .connectFailed
    }

    public var description: String {
        var text = "AMQP \(kind): \(message)"
        if let replyCode { text += " (reply code \(replyCode))" }
        return text
    }
}

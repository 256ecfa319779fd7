/// How long a client connection may take, so that one that sends half a request cannot hold it forever.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// How long a connection may sit without a complete request head: after it opens, and after each
    /// response (keep-alive). Default 60 s.
    public var idle: Duration
    /// How long a request may take to arrive in full once its head is in (the body, however slowly it
    /// trickles). Default 30 s; the client gets 408 when it runs out.
    public var requestRead: Duration

    public init(idle: Duration = .seconds(60), requestRead: Duration = .seconds(30)) {
        self.idle = idle
        self.requestRead = requestRead
    }
}

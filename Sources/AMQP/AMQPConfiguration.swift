import ServiceURL

/// Where and how to connect to RabbitMQ. Parsed once at start-up from an `amqp://` URL.
///
/// ```swift
/// let config = try AMQPConfiguration(url: "amqp://bullpen:bullpen@127.0.0.1:5672/bullpen")
/// ```
public struct AMQPConfiguration: Sendable, Equatable {
    /// Host name or address. Default `127.0.0.1`.
    public var host: String
    /// TCP port. Default `5672`.
    public var port: Int
    /// User name. Default `guest`.
    public var user: String
    /// Password. Never printed: `description` masks it.
    public var password: String
    /// Virtual host. Default `/`.
    public var vhost: String
    /// Heartbeat interval in seconds negotiated with the broker; 0 disables heartbeats. Default 10.
    public var heartbeatSeconds: Int
    /// Time allowed for the TCP connect and the AMQP handshake. Default 5 s.
    public var connectTimeout: Duration
    /// Time allowed for one synchronous broker call (declare, bind, qos ...). Default 10 s.
    public var rpcTimeout: Duration
    /// Largest frame size offered to the broker. Default 131072.
    public var frameMax: Int

    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        vhost: String = "/", heartbeatSeconds: Int = 10, connectTimeout: Duration = .seconds(5),
        rpcTimeout: Duration = .seconds(10), frameMax: Int = 131_072
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
        self.heartbeatSeconds = heartbeatSeconds
        self.connectTimeout = connectTimeout
        self.rpcTimeout = rpcTimeout
        self.frameMax = frameMax
    }

    /// Parses `amqp://user:pass@host:port/vhost`. The vhost is percent-decoded (`%2F` is `/`); an empty
    /// path means the default vhost `/`. Query items `heartbeat` and `connection_timeout` (seconds) are read.
    public init(url: String) throws {
        self.init()
        let parsed: ServiceURL
        do {
            parsed = try ServiceURL(url, schemes: ["amqp"])
        } catch {
            throw AMQPError(.invalidConfiguration, "invalid AMQP URL: \(error)")
        }
        if let v = parsed.user { user = v }
        if let v = parsed.password { password = v }
        if let v = parsed.host { host = v }
        if let v = parsed.port { port = v }
        if let v = parsed.path, !v.isEmpty { vhost = v }
        if let v = parsed.queryValue("heartbeat").flatMap(Int.init) { heartbeatSeconds = v }
        if let v = parsed.queryValue("connection_timeout").flatMap(Int.init) { connectTimeout = .seconds(v) }
    }
}

extension AMQPConfiguration: CustomStringConvertible {
    /// The URL with the password masked, safe for logs.
    public var description: String {
        let v = vhost == "/" ? "%2F" : vhost
        return "amqp://\(user):***@\(host):\(port)/\(v)"
    }
}

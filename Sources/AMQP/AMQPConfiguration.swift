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
    /// TLS (an `amqps://` URL), or nil for plain TCP.
    public var tls: TLS?
    /// More nodes of the same cluster, tried in order after `host:port` when it cannot be reached (a URL's
    /// `host1:port1,host2:port2,...`).
    public var alternates: [Endpoint] = []

    public typealias Endpoint = ServiceEndpoint

    /// Every node to try, `host:port` first.
    public var endpoints: [Endpoint] { [Endpoint(host: host, port: port)] + alternates }

    /// TLS toward the broker, as RabbitMQ's URI spec names its query items: `cacertfile` (the authority the
    /// broker's certificate must chain to; else the system's), `certfile` and `keyfile` (a client
    /// certificate), `verify` (`verify_peer`, the default: the chain and the host name are checked;
    /// `verify_none` checks neither, for tests only).
    public struct TLS: Sendable, Equatable {
        public var caCertFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var verifyPeer: Bool

        public init(caCertFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, verifyPeer: Bool = true)
        {
            self.caCertFile = caCertFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.verifyPeer = verifyPeer
        }
    }

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

    /// Parses `amqp://user:pass@host:port/vhost` or `amqps://...` (TLS, port 5671 by default). The vhost is
    /// percent-decoded (`%2F` is `/`); an empty path means the default vhost `/`. Query items `heartbeat` and
    /// `connection_timeout` (seconds) are read, and for TLS `cacertfile`, `certfile`, `keyfile`, `verify`.
    ///
    /// A cluster's nodes go in the host part, comma-separated (`amqp://u:p@r1:5672,r2,r3/bullpen`): the
    /// connection tries them in order, and a reconnection starts with the next one.
    public init(url: String) throws {
        self.init()
        let parsed: ServiceURL
        do {
            parsed = try ServiceURL(url, schemes: ["amqps", "amqp"])
        } catch {
            throw AMQPError(.invalidConfiguration, "invalid AMQP URL: \(error)")
        }
        if url.hasPrefix("amqps://") {
            port = 5671
            let verify = parsed.queryValue("verify") ?? "verify_peer"
            guard verify == "verify_peer" || verify == "verify_none" else {
                throw AMQPError(.invalidConfiguration, "invalid AMQP URL: verify must be verify_peer or verify_none")
            }
            tls = TLS(
                caCertFile: parsed.queryValue("cacertfile"), certFile: parsed.queryValue("certfile"),
                keyFile: parsed.queryValue("keyfile"), verifyPeer: verify == "verify_peer")
            guard (tls?.certFile == nil) == (tls?.keyFile == nil) else {
                throw AMQPError(.invalidConfiguration, "invalid AMQP URL: certfile and keyfile go together")
            }
        }
        if let v = parsed.user { user = v }
        if let v = parsed.password { password = v }
        if let v = parsed.host { host = v }
        if let v = parsed.port { port = v }
        if let v = parsed.path, !v.isEmpty { vhost = v }
        let defaultPort = tls == nil ? 5672 : 5671
        alternates = parsed.alternates.map { Endpoint(host: $0.host, port: $0.port ?? defaultPort) }
        if let v = parsed.queryValue("heartbeat").flatMap(Int.init) { heartbeatSeconds = v }
        if let v = parsed.queryValue("connection_timeout").flatMap(Int.init) { connectTimeout = .seconds(v) }
    }
}

extension AMQPConfiguration: CustomStringConvertible {
    /// The URL with the password masked, safe for logs.
    public var description: String {
        let v = vhost == "/" ? "%2F" : vhost
        let hosts = endpoints.map { "\($0.host):\($0.port)" }.joined(separator: ",")
        return "\(tls == nil ? "amqp" : "amqps")://\(user):***@\(hosts)/\(v)"
    }
}

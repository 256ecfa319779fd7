import CAMQP

/// One connection to RabbitMQ over rabbitmq-c, with its channels.
///
/// Not thread-safe, by design of the C library: create, use and close it on one thread. Heartbeats are
/// served only while that thread is inside a call, so a long-lived connection must call ``nextEvent(timeout:wakeup:)``
/// at least every few hundred milliseconds (the runtime's I/O loops do).
///
/// ```swift
/// let connection = try AMQPConnection(try AMQPConfiguration(url: url))
/// try connection.openChannel(1)
/// try connection.confirmSelect(channel: 1)
/// try connection.publish(channel: 1, exchange: "", routingKey: "q", body: Array("hi".utf8))
/// ```
public final class AMQPConnection {
    public let configuration: AMQPConfiguration
    private var state: amqp_connection_state_t?
    /// The channel of the synchronous call in progress, to answer a channel.close for it.
    var lastCallChannel: UInt16 = 0
    /// Channels currently open on this connection.
    public internal(set) var openChannels: Set<UInt16> = [] {
        didSet { confirmChannels.formIntersection(openChannels) }
    }
    /// Channels in publisher-confirm mode.
    var confirmChannels: Set<UInt16> = []
    /// The node of `configuration.endpoints` connected to (or tried first next time).
    public private(set) var endpoint = 0

    /// Connects and logs in; throws ``AMQPError`` with kind `.connectFailed` when the broker cannot be reached
    /// within `configuration.connectTimeout` or refuses the login.
    public init(_ configuration: AMQPConfiguration) throws {
        self.configuration = configuration
        try connect()
    }

    deinit {
        close()
    }

    /// True while the connection has not been lost or closed.
    public var isOpen: Bool { state != nil }

    /// The local TCP port of the connection (to find it in `rabbitmqctl list_connections peer_port`).
    public var localPort: Int? {
        guard let state else { return nil }
        let port = bp_local_port(amqp_get_sockfd(state))
        return port > 0 ? Int(port) : nil
    }

    /// The negotiated heartbeat in seconds (0 when disabled).
    public var heartbeatSeconds: Int {
        guard let state else { return 0 }
        return Int(amqp_get_heartbeat(state))
    }

    /// Tries the configured nodes in order, starting with the current one; a reconnection starts with the
    /// next, so that a process that lost a node tries the others first.
    private func connect() throws {
        let endpoints = configuration.endpoints
        var failures: [String] = []
        for offset in 0..<endpoints.count {
            let index = (endpoint + offset) % endpoints.count
            do {
                try connect(to: endpoints[index])
                endpoint = index
                return
            } catch let error as AMQPError where error.kind == .connectFailed && endpoints.count > 1 {
                failures.append(error.message)
            }
        }
        throw AMQPError(.connectFailed, failures.joined(separator: "; "))
    }

    private func connect(to node: AMQPConfiguration.Endpoint) throws {
        guard let newState = amqp_new_connection() else {
            throw AMQPError(.connectFailed, "cannot allocate a connection")
        }
        guard let socket = configuration.tls == nil ? amqp_tcp_socket_new(newState) : amqp_ssl_socket_new(newState)
        else {
            amqp_destroy_connection(newState)
            throw AMQPError(.connectFailed, "cannot create a \(configuration.tls == nil ? "TCP" : "TLS") socket")
        }
        if let tls = configuration.tls {
            do { try Self.configure(socket, tls) } catch {
                amqp_destroy_connection(newState)
                throw error
            }
        }
        var connectTimeout = bp_timeval_ms(configuration.connectTimeout.milliseconds)
        let status = amqp_socket_open_noblock(socket, node.host, Int32(node.port), &connectTimeout)
        guard status == AMQPStatus.ok else {
            amqp_destroy_connection(newState)
            throw AMQPError(
                .connectFailed,
                "cannot reach \(node.host):\(node.port): \(AMQPStatus.text(status))")
        }
        var handshakeTimeout = bp_timeval_ms(configuration.connectTimeout.milliseconds)
        amqp_set_handshake_timeout(newState, &handshakeTimeout)
        var rpcTimeout = bp_timeval_ms(configuration.rpcTimeout.milliseconds)
        amqp_set_rpc_timeout(newState, &rpcTimeout)
        let reply = bp_amqp_login_plain(
            newState, configuration.vhost, Int32(configuration.frameMax), Int32(configuration.heartbeatSeconds),
            configuration.user, configuration.password)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            let reason = Self.describeLoginFailure(reply)
            amqp_destroy_connection(newState)
            throw AMQPError(
                .connectFailed, "login to vhost '\(configuration.vhost)' as '\(configuration.user)' failed: \(reason)")
        }
        state = newState
    }

    /// The TLS socket's trust and identity: the CA file (else the system's store), a client certificate, and
    /// whether the broker's chain and host name are checked.
    private static func configure(_ socket: OpaquePointer, _ tls: AMQPConfiguration.TLS) throws {
        if let ca = tls.caCertFile {
            let status = amqp_ssl_socket_set_cacert(socket, ca)
            guard status == AMQPStatus.ok else {
                throw AMQPError(.connectFailed, "cannot read the CA file \(ca): \(AMQPStatus.text(status))")
            }
        }
        if let cert = tls.certFile, let key = tls.keyFile {
            let status = amqp_ssl_socket_set_key(socket, cert, key)
            guard status == AMQPStatus.ok else {
                throw AMQPError(
                    .connectFailed, "cannot read the client certificate \(cert): \(AMQPStatus.text(status))")
            }
        }
        amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
        amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
    }

    /// Drops the current connection (if any) and connects again. Every channel must be reopened.
    public func reconnect() throws {
        abandon()
        endpoint = (endpoint + 1) % configuration.endpoints.count
        try connect()
    }

    /// Closes the connection politely; safe to call more than once.
    public func close() {
        guard let state else { return }
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        amqp_destroy_connection(state)
        self.state = nil
        openChannels.removeAll()
    }

    /// Drops the connection without the closing handshake (used after an I/O failure).
    func abandon() {
        guard let state else { return }
        amqp_destroy_connection(state)
        self.state = nil
        openChannels.removeAll()
    }

    func liveState() throws -> amqp_connection_state_t {
        guard let state else { throw AMQPError(.connectionLost, "the connection is closed") }
        return state
    }

    // MARK: Replies

    /// Turns the reply to the last synchronous call into an error, answering close methods with close-ok.
    func check(_ operation: String, channel: UInt16) throws {
        let state = try liveState()
        let reply = amqp_get_rpc_reply(state)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            // The library lost track of the conversation (socket error, timeout): the connection is unusable.
            abandon()
            let kind: AMQPError.Kind = reply.library_error == AMQPStatus.timeout ? .timeout : .connectionLost
            throw AMQPError(kind, "\(operation): \(AMQPStatus.text(reply.library_error))", channel: channel)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            throw serverException(reply.reply, operation: operation)
        default:
            abandon()
            throw AMQPError(.library, "\(operation): no reply from the library", channel: channel)
        }
    }

    func serverException(_ method: amqp_method_t, operation: String) -> AMQPError {
        if method.id == BP_AMQP_CHANNEL_CLOSE_METHOD, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return channelClosedByServer(
                channel: nil, code: close.reply_code, text: CDecode.string(close.reply_text), operation: operation)
        }
        if method.id == BP_AMQP_CONNECTION_CLOSE_METHOD, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            // The text lives in the connection's frame memory, which abandoning the connection frees: read it first.
            let text = CDecode.string(close.reply_text)
            if let state { _ = bp_amqp_send_connection_close_ok(state) }
            abandon()
            return AMQPError(
                .connectionLost, "\(operation): broker closed the connection: \(text)", replyCode: close.reply_code)
        }
        return AMQPError(.library, "\(operation): unexpected method \(method.id) from the broker")
    }

    /// Records a channel closed by the broker and answers close-ok so its number can be reopened.
    func channelClosedByServer(channel: UInt16?, code: UInt16, text: String, operation: String) -> AMQPError {
        let number = channel ?? lastCallChannel
        if let state { _ = bp_amqp_send_channel_close_ok(state, number) }
        openChannels.remove(number)
        return AMQPError(
            .channelClosed, "\(operation): broker closed channel \(number): \(text)", replyCode: code, channel: number)
    }

    /// Runs one synchronous call on `channel` and checks its reply.
    func rpc<T>(_ operation: String, channel: UInt16, _ body: (amqp_connection_state_t) -> T) throws -> T {
        let state = try liveState()
        lastCallChannel = channel
        let result = body(state)
        try check(operation, channel: channel)
        return result
    }

    static func describeLoginFailure(_ reply: amqp_rpc_reply_t) -> String {
        switch reply.reply_type {
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return AMQPStatus.text(reply.library_error)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == BP_AMQP_CONNECTION_CLOSE_METHOD, let decoded = reply.reply.decoded {
                let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                return "\(close.reply_code) \(CDecode.string(close.reply_text))"
            }
            return "server exception"
        default:
            return "no reply"
        }
    }
}

/// rabbitmq-c status codes and their text.
enum AMQPStatus {
    static let ok = Int32(AMQP_STATUS_OK.rawValue)
    static let timeout = Int32(AMQP_STATUS_TIMEOUT.rawValue)

    static func text(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, at least 0.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        return max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

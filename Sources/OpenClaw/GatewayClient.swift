import ConnectionDeadline
import Foundation
import HummingbirdWSClient
import Logging
import ServiceLifecycle
import Synchronization

/// One connection to the OpenClaw gateway per process, shared by everything in it: the handshake (challenge,
/// signed `connect`, `hello-ok`), requests matched to their responses by id, events handed to a subscriber,
/// and the keepalive: two tick intervals of silence mean a dead connection. It reconnects by itself with a
/// growing pause (1 s to 30 s), or after the `restartExpectedMs` of a `shutdown` event. Requests pending on a
/// lost connection fail with ``GatewayError/connectionLost(_:)``: the gateway does not resend their answers,
/// so their callers must treat the outcome as unknown.
///
/// Run it as a service; ``request(_:_:timeout:)`` waits for the connection to come up (within its timeout).
public final class GatewayClient: Service, Sendable {
    public struct Configuration: Sendable {
        /// `ws://127.0.0.1:18789` by default.
        public var url: String
        public var token: String
        public var identity: DeviceIdentity
        /// Names this process to the gateway (`client.instanceId`).
        public var instanceID: String
        public var version: String
        /// How long the challenge, and the answer to `connect`, may take.
        public var handshakeTimeout: Duration
        public var minimumBackoff: Duration
        public var maximumBackoff: Duration
        /// The scopes the device asks for: ``Handshake/scopes``, or ``Handshake/adminScopes`` to carry model
        /// overrides.
        public var scopes: [String]

        public init(
            url: String, token: String, identity: DeviceIdentity, instanceID: String, version: String = "1.0.0",
            handshakeTimeout: Duration = .seconds(10), minimumBackoff: Duration = .seconds(1),
            maximumBackoff: Duration = .seconds(30), scopes: [String] = Handshake.scopes
        ) {
            self.scopes = scopes
            self.url = url
            self.token = token
            self.identity = identity
            self.instanceID = instanceID
            self.version = version
            self.handshakeTimeout = handshakeTimeout
            self.minimumBackoff = minimumBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// How the connection stands, for `bullpen gateway status` and /readyz.
    public struct Status: Sendable, Equatable {
        public var deviceID: String
        public var connected: Bool
        public var protocolVersion: Int?
        public var tickInterval: Duration?
        public var lastTick: Date?
        public var lastError: String?
        public var connections: Int
    }

    public typealias EventHandler = @Sendable (_ name: String, _ payload: JSONValue) -> Void

    public let configuration: Configuration
    private let logger: Logger
    private let onEvent: EventHandler?
    private let state: Mutex<State>

    private struct State {
        var outbound: WebSocketOutboundWriter?
        var pending: [String: AsyncStream<Result<JSONValue, GatewayError>>.Continuation] = [:]
        var status: Status
        var lastFrame: ContinuousClock.Instant = .now
        var nextID = 0
        var restartAfter: Duration?
        /// The current connection attempt's number; an older attempt that connects late is closed.
        var attempt = 0
    }

    public init(configuration: Configuration, logger: Logger, onEvent: EventHandler? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
        state = Mutex(
            State(
                status: Status(
                    deviceID: configuration.identity.deviceID, connected: false, protocolVersion: nil,
                    tickInterval: nil, lastTick: nil, lastError: nil, connections: 0)))
    }

    public var status: Status { state.withLock { $0.status } }

    // MARK: the connection loop

    public func run() async throws {
        var pause = configuration.minimumBackoff
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let outcome: GatewayError
            do {
                try await cancelWhenGracefulShutdown { try await self.attempt() }
                outcome = .connectionLost("the gateway closed the connection")
            } catch let error as GatewayError {
                outcome = error
            } catch is CancellationError {
                break
            } catch {
                outcome = .connectionLost("\(error)")
            }
            let wasConnected = dropConnection(outcome)
            if wasConnected { pause = configuration.minimumBackoff }
            var wait = pause
            if case .starting(let retryAfter) = outcome { wait = max(retryAfter, .milliseconds(100)) }
            if let restart = state.withLock({ state -> Duration? in
                defer { state.restartAfter = nil }
                return state.restartAfter
            }) {
                wait = restart
            }
            if case .pairingRequired = outcome {
                logger.error("gateway pairing required", metadata: ["error": "\(outcome)"])
            } else {
                logger.warning(
                    "gateway connection down; reconnecting", metadata: ["error": "\(outcome)", "pause": "\(wait)"])
            }
            // The pause ends at once on a graceful shutdown: stopping never waits on a gateway that is away.
            let sleep = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
            pause = min(pause * 2, configuration.maximumBackoff)
        }
        _ = dropConnection(.connectionLost("the client is stopping"))
    }

    /// One connection, from the TCP connect to its end. Until it is connected (the upgrade answered and the
    /// handshake done) it has ``Configuration/handshakeTimeout``: a gateway that takes the TCP connection but
    /// never answers the upgrade, or a connect into a partition, is given up on then (the attempt is cancelled
    /// and not waited for; if it connects later anyway, it sees it is stale and closes).
    private func attempt() async throws {
        let number = state.withLock { state in
            state.attempt += 1
            return state.attempt
        }
        let limit = configuration.handshakeTimeout
        try await withConnectionDeadline(
            limit, ready: { self.state.withLock { $0.status.connected && $0.attempt == number } },
            expired: { GatewayError.timeout("no connection within \(limit)") },
            connection: { try await self.connectOnce(attempt: number) })
    }

    private func connectOnce(attempt number: Int) async throws {
        var wsConfiguration = WebSocketClientConfiguration()
        wsConfiguration.maxFrameSize = 1 << 22
        // A close we start (no tick, a stale attempt) waits this long for the gateway's answer, not 15 s.
        wsConfiguration.closeTimeout = .seconds(2)
        try await WebSocketClient.connect(url: configuration.url, configuration: wsConfiguration, logger: logger) {
            inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 26_214_400).makeAsyncIterator()
            let hello = try await self.handshake(&messages, outbound)
            guard self.state.withLock({ $0.attempt == number }) else {
                try? await outbound.close(.goingAway, reason: "stale connection attempt")
                return
            }
            self.connected(hello, outbound)
            // The watchdog closes a silent connection, which ends the reading loop.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.watchTicks(hello.tickInterval, outbound) }
                while let message = try await messages.next() {
                    guard case .text(let text) = message else { continue }
                    self.received(text)
                }
                group.cancelAll()
            }
        }
    }

    private func handshake(
        _ messages: inout WebSocketInboundMessageStream.AsyncIterator, _ outbound: WebSocketOutboundWriter
    ) async throws -> Handshake.Hello {
        let deadline = ContinuousClock.now + configuration.handshakeTimeout
        let watchdog = Task {
            try await Task.sleep(until: deadline)
            try? await outbound.close(.goingAway, reason: "handshake timeout")
        }
        defer { watchdog.cancel() }
        guard case .text(let first) = try await messages.next(),
            case .event("connect.challenge", let payload, _) = try GatewayFrame.parse(first),
            let nonce = payload["nonce"]?.string
        else {
            if ContinuousClock.now >= deadline { throw GatewayError.timeout("no connect.challenge") }
            throw GatewayError.protocolViolation("the first frame was not connect.challenge")
        }
        let params = try Handshake.connectParams(
            identity: configuration.identity, token: configuration.token, nonce: nonce,
            instanceID: configuration.instanceID, version: configuration.version, scopes: configuration.scopes)
        try await outbound.write(
            .text(GatewayFrame.request(id: "connect", method: "connect", params: try JSONValue(encoding: params)).text))
        while let message = try await messages.next() {
            guard case .text(let text) = message else { continue }
            switch try GatewayFrame.parse(text) {
            case .response("connect", let result):
                return try Handshake.read(result).get()
            case .event:
                continue
            default:
                throw GatewayError.protocolViolation("an unexpected frame during the handshake")
            }
        }
        if ContinuousClock.now >= deadline { throw GatewayError.timeout("no answer to connect") }
        throw GatewayError.connectionLost("the gateway closed the connection during the handshake")
    }

    /// Two tick intervals without a frame: the connection is dead (closing it ends ``connectOnce()``).
    private func watchTicks(_ interval: Duration, _ outbound: WebSocketOutboundWriter) async throws {
        while true {
            try await Task.sleep(for: interval / 2)
            let silent = ContinuousClock.now - state.withLock { $0.lastFrame }
            if silent > interval * 2 {
                try? await outbound.close(.goingAway, reason: "no tick")
                throw GatewayError.connectionLost("no tick for \(silent)")
            }
        }
    }

    private func connected(_ hello: Handshake.Hello, _ outbound: WebSocketOutboundWriter) {
        state.withLock { state in
            state.outbound = outbound
            state.lastFrame = .now
            state.status.connected = true
            state.status.protocolVersion = hello.protocolVersion
            state.status.tickInterval = hello.tickInterval
            state.status.lastError = nil
            state.status.connections += 1
        }
        logger.info(
            "connected to the gateway",
            metadata: [
                "protocol": "\(hello.protocolVersion)", "tick": "\(hello.tickInterval)",
                "device": "\(configuration.identity.deviceID.prefix(12))",
            ])
    }

    /// Forgets the connection; fails what was pending on it. Returns whether it had been connected.
    private func dropConnection(_ reason: GatewayError) -> Bool {
        let (pending, wasConnected) = state.withLock { state in
            defer {
                state.pending = [:]
                state.outbound = nil
                state.status.connected = false
                state.status.lastError = "\(reason)"
            }
            return (Array(state.pending.values), state.status.connected)
        }
        for continuation in pending {
            continuation.yield(.failure(.connectionLost("\(reason)")))
            continuation.finish()
        }
        return wasConnected
    }

    private func received(_ text: String) {
        let frame: GatewayFrame
        do { frame = try GatewayFrame.parse(text) } catch {
            logger.warning("unreadable frame from the gateway", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { $0.lastFrame = .now }
        switch frame {
        case .response(let id, let result):
            let continuation = state.withLock { $0.pending[id] }
            continuation?.yield(result.mapError { .refused($0) })
        case .event("tick", _, _):
            state.withLock { $0.status.lastTick = Date() }
        case .event("shutdown", let payload, _):
            let restart = payload["restartExpectedMs"]?.int
            logger.info("the gateway announced a restart", metadata: ["restartExpectedMs": "\(restart ?? -1)"])
            state.withLock { $0.restartAfter = restart.map { .milliseconds($0) } }
            onEvent?("shutdown", payload)
        case .event(let name, let payload, _):
            onEvent?(name, payload)
        case .request:
            logger.warning("the gateway sent a request; ignored")
        }
    }

    // MARK: requests

    /// Sends a request and waits for its first answer (within `timeout`, which includes waiting for a connection).
    public func request(
        _ method: String, _ params: JSONValue, timeout: Duration = .seconds(30)
    ) async throws(GatewayError)
        -> JSONValue
    {
        let answers = try await send(method, params, timeout: timeout)
        defer { answers.cancel() }
        return try await answers.next(timeout: timeout, what: method)
    }

    /// The answers to one request: `agent` answers twice (accepted, then final) on the same id.
    public struct Answers: Sendable {
        let id: String
        let stream: AsyncStream<Result<JSONValue, GatewayError>>
        let client: GatewayClient

        /// The next answer, or the error that ended the request.
        public func next(timeout: Duration, what: String) async throws(GatewayError) -> JSONValue {
            let result: Result<JSONValue, GatewayError>? = await withTaskGroup(
                of: Result<JSONValue, GatewayError>?.self
            ) { group in
                group.addTask {
                    var iterator = stream.makeAsyncIterator()
                    return await iterator.next() ?? .failure(.connectionLost("the request ended"))
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let result else { throw GatewayError.timeout("no answer to \(what) within \(timeout)") }
            return try result.get()
        }

        /// Stops listening for answers to this request.
        public func cancel() { client.forget(id) }
    }

    /// Sends a request once connected; its answers come through the returned stream.
    public func send(_ method: String, _ params: JSONValue, timeout: Duration) async throws(GatewayError) -> Answers {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (id, outbound, stream) = state.withLock { state in
                state.nextID += 1
                let id = "b\(state.nextID)"
                let (stream, continuation) = AsyncStream<Result<JSONValue, GatewayError>>.makeStream()
                if state.outbound != nil { state.pending[id] = continuation }
                return (id, state.outbound, stream)
            }
            guard let outbound else {
                guard ContinuousClock.now < deadline else {
                    throw GatewayError.connectionLost(
                        "not connected to the gateway (\(state.withLock { $0.status.lastError } ?? "connecting"))")
                }
                await waitForConnection(until: deadline)
                continue
            }
            do {
                try await outbound.write(.text(GatewayFrame.request(id: id, method: method, params: params).text))
            } catch {
                forget(id)
                throw GatewayError.connectionLost("sending \(method): \(error)")
            }
            return Answers(id: id, stream: stream, client: self)
        }
    }

    func forget(_ id: String) {
        let continuation = state.withLock { $0.pending.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Waits (polling every 50 ms, only while disconnected) until connected or `deadline`.
    private func waitForConnection(until deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline, state.withLock({ $0.outbound == nil }) {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

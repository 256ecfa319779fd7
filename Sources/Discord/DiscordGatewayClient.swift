import ConnectionDeadline
import Foundation
import HummingbirdWSClient
import Logging
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// One bot connection to Discord's Gateway (a WebSocket): ``DiscordSession``'s rules with the I/O around
/// them. It heartbeats on the interval Hello gives, resumes after a drop (replayed events come again, and are
/// deduplicated downstream by message id), identifies again when the session is gone, and reconnects with a
/// growing pause (1 s to 30 s). A message is handed to `deliver`; when that throws, the connection is closed
/// with a code that keeps the session, and the resume replays the message.
///
/// Run it as a service (or call ``run()``); it ends on a graceful shutdown, or for good on a close code that
/// retrying cannot help (``Status/stopped``).
public final class DiscordGatewayClient: Service, Sendable {
    public struct Configuration: Sendable {
        /// `wss://gateway.discord.gg/?v=10&encoding=json` in production.
        public var url: String
        public var token: String
        public var minimumBackoff: Duration
        public var maximumBackoff: Duration
        /// How long a connection may take to bring Hello.
        public var handshakeTimeout: Duration

        public init(
            url: String = "wss://gateway.discord.gg/?v=10&encoding=json", token: String,
            minimumBackoff: Duration = .seconds(1), maximumBackoff: Duration = .seconds(30),
            handshakeTimeout: Duration = .seconds(10)
        ) {
            self.handshakeTimeout = handshakeTimeout
            self.url = url
            self.token = token
            self.minimumBackoff = minimumBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// How the connection stands.
    public struct Status: Sendable, Equatable {
        public var connected = false
        public var identifies = 0
        public var resumes = 0
        public var lastError: String?
        /// Set when Discord refused the bot for good (a token or intents to fix).
        public var stopped: String?
    }

    public typealias Deliver = @Sendable (DiscordMessage) async throws -> Void

    private let configuration: Configuration
    private let deliver: Deliver
    private let logger: Logger
    private let state: Mutex<(session: DiscordSession, status: Status, hello: Bool)>

    public init(configuration: Configuration, logger: Logger, deliver: @escaping Deliver) {
        self.configuration = configuration
        self.deliver = deliver
        self.logger = logger
        state = Mutex((DiscordSession(token: configuration.token, gatewayURL: configuration.url), Status(), false))
    }

    public var status: Status { state.withLock { $0.status } }

    public func run() async throws {
        var pause = configuration.minimumBackoff
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let signedIn = { self.state.withLock { $0.status.identifies + $0.status.resumes } }
            let before = signedIn()
            var next: DiscordSession.Action
            do {
                next = try await cancelWhenGracefulShutdown { try await self.attempt() }
            } catch is CancellationError {
                break
            } catch {
                state.withLock { $0.status.lastError = "\(error)" }
                next = .reconnect(resume: state.withLock { $0.session.canResume }, after: pause)
            }
            state.withLock { $0.status.connected = false }
            // A connection that got as far as signing in starts the pauses afresh.
            if signedIn() != before { pause = configuration.minimumBackoff }
            var wait = pause
            switch next {
            case .stop(let reason):
                logger.error("the Discord connection stopped for good", metadata: ["reason": "\(reason)"])
                state.withLock { $0.status.stopped = reason }
                return
            case .reconnect(_, let after):
                wait = max(after, pause)
            default:
                break
            }
            logger.notice("Discord connection down; reconnecting", metadata: ["pause": "\(wait)"])
            let sleep = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
            pause = min(pause * 2, configuration.maximumBackoff)
        }
    }

    /// One connection, given up on when Hello has not come within the handshake timeout (a connect into a
    /// partition can otherwise hang for minutes): the stuck attempt is cancelled and not waited for.
    private func attempt() async throws -> DiscordSession.Action {
        state.withLock { $0.hello = false }
        let limit = configuration.handshakeTimeout
        return try await withConnectionDeadline(
            limit, ready: { self.state.withLock { $0.hello } },
            expired: { DiscordConnectError(description: "no Hello within \(limit)") },
            connection: { try await self.connectOnce() })
    }

    /// One connection, to its end: what to do next.
    private func connectOnce() async throws -> DiscordSession.Action {
        let url = state.withLock { state in
            state.session.connected()
            return state.session.connectURL
        }
        let outcome = Outcome()
        var wsConfiguration = WebSocketClientConfiguration()
        wsConfiguration.maxFrameSize = 1 << 22
        wsConfiguration.closeTimeout = .seconds(2)
        let close = try await WebSocketClient.connect(url: url, configuration: wsConfiguration, logger: logger) {
            inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                var messages = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
                reading: while let message = try await messages.next() {
                    guard case .text(let text) = message, let frame = DiscordFrame.parse(text) else { continue }
                    let actions = self.state.withLock { state in
                        if frame.opcode == .hello {
                            // Hello is answered with Resume when the session can be resumed, else Identify.
                            state.hello = true
                            if state.session.canResume {
                                state.status.resumes += 1
                            } else {
                                state.status.identifies += 1
                            }
                        }
                        return state.session.receive(frame)
                    }
                    for action in actions {
                        switch action {
                        case .send(let text):
                            try await outbound.write(.text(text))
                            self.state.withLock { $0.status.connected = true }
                        case .startHeartbeat(let interval):
                            group.addTask { try await self.beat(every: interval, outbound, outcome) }
                        case .deliver(let message, let sequence):
                            do {
                                try await self.deliver(message)
                                self.state.withLock { $0.session.handled(sequence) }
                            } catch {
                                // Not handled: the resume after this close replays it.
                                self.logger.warning(
                                    "a Discord message could not be handed on; resuming to get it again",
                                    metadata: ["message": "\(message.id)", "error": "\(error)"])
                                outcome.set(.reconnect(resume: true, after: .seconds(1)))
                                try? await outbound.close(.unknown(4000), reason: "resume")
                                break reading
                            }
                        case .reconnect(let resume, _):
                            outcome.set(action)
                            // 1000 ends the session on Discord's side; any other code keeps it resumable.
                            try? await outbound.close(resume ? .unknown(4000) : .normalClosure, reason: "reconnect")
                            break reading
                        case .stop:
                            outcome.set(action)
                            try? await outbound.close(.normalClosure, reason: "stop")
                            break reading
                        }
                    }
                }
                group.cancelAll()
            }
        }
        if let decided = outcome.value { return decided }
        let code = close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
        return state.withLock { $0.session.closed(code: code) }
    }

    /// Heartbeats until the connection ends; a beat not acknowledged by the next closes it (a zombie).
    private func beat(every interval: Duration, _ outbound: WebSocketOutboundWriter, _ outcome: Outcome) async throws {
        // The first beat after a random part of the interval, as Discord asks (so a fleet does not beat at once).
        try await Task.sleep(for: interval * Double.random(in: 0.1...1))
        while true {
            switch state.withLock({ $0.session.heartbeatDue() }) {
            case .send(let text):
                try await outbound.write(.text(text))
            case let other:
                outcome.set(other)
                try? await outbound.close(.unknown(4000), reason: "no heartbeat acknowledgement")
                return
            }
            try await Task.sleep(for: interval)
        }
    }

    /// What the connection decided before it closed, if anything (else the close code decides).
    private final class Outcome: Sendable {
        private let stored = Mutex<DiscordSession.Action?>(nil)
        func set(_ action: DiscordSession.Action) { stored.withLock { if $0 == nil { $0 = action } } }
        var value: DiscordSession.Action? { stored.withLock { $0 } }
    }
}

struct DiscordConnectError: Error, CustomStringConvertible {
    let description: String
}

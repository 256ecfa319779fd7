import Discord
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Synchronization

/// Discord's Gateway, as a bot that listens sees it (API v10, JSON): Hello with the heartbeat interval;
/// Identify checked (the bot token, else close 4004; without the message content intent a message's content
/// comes empty, as Discord sends it), answered with READY (a session id, a `resume_gateway_url`); Heartbeat
/// answered with its ACK, and a connection silent for three intervals closed with 4009; Resume replaying the
/// session's events after the sequence given, then RESUMED (an unknown session: Invalid Session, not
/// resumable). Each session keeps its dispatches, so a client that resumes gets what it missed.
///
/// Controls on the outbound sandbox's port: `POST /sandbox/discord/messages {channelId, content, authorId?,
/// username?, bot?, guildId?}` (a person's message, to every session, `{"id"}`); `/sandbox/discord/drop`
/// (every connection closed abruptly, the sessions kept); `/sandbox/discord/reconnect` (op 7);
/// `/sandbox/discord/invalidate` (op 9, sessions forgotten); `/sandbox/discord/replay-all` (the next resumes
/// replay every event of their session, as a duplicate delivery would); `GET /sandbox/discord/state`.
public final class SandboxDiscordGateway: Sendable {
    public struct Configuration: Sendable {
        public var token: String
        public var heartbeatInterval: Duration
        /// The URL READY names for resuming (this stand-in's own WebSocket).
        public var resumeURL: String

        public init(token: String, heartbeatInterval: Duration = .seconds(1), resumeURL: String) {
            self.token = token
            self.heartbeatInterval = heartbeatInterval
            self.resumeURL = resumeURL
        }
    }

    public struct Snapshot: Codable, Sendable, Equatable {
        public var connections = 0
        public var connectionsOpen = 0
        public var identifies = 0
        public var resumes = 0
        public var heartbeats = 0
        public var refusedTokens = 0
        public var messagesPosted = 0
    }

    struct Session {
        var events: [(sequence: Int, text: String)] = []
        var messageContent: Bool
        var nextSequence = 1
    }

    struct State {
        var sessions: [String: Session] = [:]
        var connections: [Int: (outbound: WebSocketOutboundWriter, session: String?)] = [:]
        var nextConnection = 0
        /// Message ids are snowflakes, as Discord's: milliseconds since 2015 shifted left 22 bits, so a restarted
        /// stand-in never reuses one (Bullpen dedupes by message id, and its database outlives the stand-in).
        var nextMessage = (Int64(Date().timeIntervalSince1970 * 1000) - 1_420_070_400_000) << 22
        var replayAll = false
        var snapshot = Snapshot()
    }

    let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public var snapshot: Snapshot {
        state.withLock { state in
            var snapshot = state.snapshot
            snapshot.connectionsOpen = state.connections.count
            return snapshot
        }
    }

    // MARK: a connection

    func serve(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, resumeURL: String? = nil
    ) async throws {
        let number = state.withLock { state -> Int in
            state.nextConnection += 1
            state.snapshot.connections += 1
            state.connections[state.nextConnection] = (outbound, nil)
            return state.nextConnection
        }
        defer { _ = state.withLock { $0.connections.removeValue(forKey: number) } }
        let interval = configuration.heartbeatInterval
        try await outbound.write(
            .text(
                DiscordFrame(
                    .hello,
                    d: [
                        "heartbeat_interval": Int(
                            interval.components.seconds * 1000
                                + interval.components.attoseconds / 1_000_000_000_000_000)
                    ]
                ).text))
        let lastBeat = LastBeat()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A connection silent for three intervals is a zombie: closed, as Discord closes it.
                while true {
                    try await Task.sleep(for: interval)
                    if ContinuousClock.now - lastBeat.at > interval * 3 {
                        try? await outbound.close(.unknown(4009), reason: "Session timed out")
                        return
                    }
                }
            }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message, let frame = DiscordFrame.parse(text) else {
                    try? await outbound.close(.unknown(4002), reason: "Decode error")
                    break
                }
                switch frame.opcode {
                case .heartbeat:
                    lastBeat.beat()
                    state.withLock { $0.snapshot.heartbeats += 1 }
                    try await outbound.write(.text(DiscordFrame(.heartbeatAck).text))
                case .identify:
                    guard frame.object?["token"] as? String == configuration.token else {
                        state.withLock { $0.snapshot.refusedTokens += 1 }
                        try? await outbound.close(.unknown(4004), reason: "Authentication failed")
                        break
                    }
                    let intents = (frame.object?["intents"] as? NSNumber)?.intValue ?? 0
                    try await identify(
                        number, intents: intents, resumeURL: resumeURL ?? configuration.resumeURL, outbound)
                case .resume:
                    try await resume(number, frame.object ?? [:], outbound)
                default:
                    try? await outbound.close(.unknown(4001), reason: "Unknown opcode")
                }
            }
            group.cancelAll()
        }
    }

    func identify(
        _ connection: Int, intents: Int, resumeURL: String, _ outbound: WebSocketOutboundWriter
    ) async throws {
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let ready = state.withLock { state -> String in
            state.snapshot.identifies += 1
            var session = Session(messageContent: intents & (1 << 15) != 0)
            let frame = DiscordFrame(
                .dispatch,
                d: [
                    "v": 10, "session_id": id, "resume_gateway_url": resumeURL,
                    "user": ["id": "1", "username": "bullpen", "bot": true], "guilds": [] as [Any],
                ] as [String: Any], s: session.nextSequence, t: "READY"
            ).text
            session.events.append((session.nextSequence, frame))
            session.nextSequence += 1
            state.sessions[id] = session
            state.connections[connection]?.session = id
            return frame
        }
        try await outbound.write(.text(ready))
    }

    func resume(_ connection: Int, _ data: [String: Any], _ outbound: WebSocketOutboundWriter) async throws {
        guard data["token"] as? String == configuration.token else {
            state.withLock { $0.snapshot.refusedTokens += 1 }
            try? await outbound.close(.unknown(4004), reason: "Authentication failed")
            return
        }
        let id = data["session_id"] as? String ?? ""
        let after = (data["seq"] as? NSNumber)?.intValue ?? 0
        let replay = state.withLock { state -> [String]? in
            guard var session = state.sessions[id] else { return nil }
            state.snapshot.resumes += 1
            state.connections[connection]?.session = id
            let from = state.replayAll ? 0 : after
            state.replayAll = false
            let resumed = DiscordFrame(.dispatch, d: [:] as [String: Any], s: session.nextSequence, t: "RESUMED").text
            session.events.append((session.nextSequence, resumed))
            session.nextSequence += 1
            state.sessions[id] = session
            return session.events.filter { $0.sequence > from }.map(\.text)
        }
        guard let replay else {
            try await outbound.write(.text(DiscordFrame(.invalidSession, d: false).text))
            return
        }
        for text in replay { try await outbound.write(.text(text)) }
    }

    // MARK: controls

    /// A person's (or a bot's) message in a channel, dispatched to every session: its id.
    public func post(
        channelID: String, content: String, authorID: String = "2001", username: String = "client-person",
        bot: Bool = false, guildID: String? = "3001"
    ) async -> String {
        let (id, deliveries) = state.withLock { state -> (String, [(WebSocketOutboundWriter, String)]) in
            state.nextMessage += 1
            state.snapshot.messagesPosted += 1
            let id = String(state.nextMessage)
            var frames: [String: String] = [:]
            for (sessionID, var session) in state.sessions {
                var data: [String: Any] = [
                    "id": id, "channel_id": channelID, "content": session.messageContent ? content : "",
                    "author": ["id": authorID, "username": username, "bot": bot] as [String: Any],
                    "timestamp": ISO8601DateFormatter().string(from: Date()),
                ]
                if let guildID { data["guild_id"] = guildID }
                let frame = DiscordFrame(.dispatch, d: data, s: session.nextSequence, t: "MESSAGE_CREATE").text
                session.events.append((session.nextSequence, frame))
                session.nextSequence += 1
                state.sessions[sessionID] = session
                frames[sessionID] = frame
            }
            let deliveries = state.connections.values.compactMap { connection -> (WebSocketOutboundWriter, String)? in
                guard let session = connection.session, let frame = frames[session] else { return nil }
                return (connection.outbound, frame)
            }
            return (id, deliveries)
        }
        for (outbound, frame) in deliveries { try? await outbound.write(.text(frame)) }
        return id
    }

    /// Closes every connection at once (the sessions stay, to be resumed).
    public func drop() async {
        for outbound in state.withLock({ $0.connections.values.map(\.outbound) }) {
            try? await outbound.close(.unexpectedServerError, reason: "dropped")
        }
    }

    /// Sends op 7 (reconnect and resume) to every connection.
    public func askReconnect() async {
        for outbound in state.withLock({ $0.connections.values.map(\.outbound) }) {
            try? await outbound.write(.text(DiscordFrame(.reconnect).text))
        }
    }

    /// Sends op 9 (not resumable) to every connection, and forgets the sessions.
    public func invalidate() async {
        let connections = state.withLock { state in
            state.sessions = [:]
            return state.connections.values.map(\.outbound)
        }
        for outbound in connections { try? await outbound.write(.text(DiscordFrame(.invalidSession, d: false).text)) }
    }

    /// The next resumes replay their sessions' every event (a duplicate delivery).
    public func replayEverythingNext() { state.withLock { $0.replayAll = true } }

    /// The WebSocket route and the controls, on `router`.
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/sandbox/discord/state") { _, _ in try JSONResponse(self.snapshot) }
        router.post("/sandbox/discord/messages") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                let channel = object["channelId"] as? String, let content = object["content"] as? String
            else { return SandboxOutbound.text(400, "channelId and content are required") }
            let id = await self.post(
                channelID: channel, content: content, authorID: object["authorId"] as? String ?? "2001",
                username: object["username"] as? String ?? "client-person", bot: object["bot"] as? Bool ?? false,
                guildID: object["guildId"] as? String ?? "3001")
            return SandboxOutbound.json(200, ["id": id])
        }
        router.post("/sandbox/discord/drop") { _, _ in
            await self.drop()
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/discord/reconnect") { _, _ in
            await self.askReconnect()
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/discord/invalidate") { _, _ in
            await self.invalidate()
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/discord/replay-all") { _, _ in
            self.replayEverythingNext()
            return HTTPResponse.Status.noContent
        }
    }
}

/// When a connection last heartbeat.
private final class LastBeat: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var at: ContinuousClock.Instant { instant.withLock { $0 } }
    func beat() { instant.withLock { $0 = .now } }
}

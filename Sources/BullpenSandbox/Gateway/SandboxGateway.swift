import Foundation
import HTTPClient
import Hummingbird
import HummingbirdWebSocket
import Logging
import OpenClaw
import Synchronization

/// `bullpen sandbox gateway`: a local OpenClaw gateway that speaks the real protocol, for tests and the demo.
/// It checks what the real one checks (challenge, strict schemas, protocol range, token, Ed25519 device
/// signature, scopes), answers `agent` twice (accepted, then final) with the gateway's idempotency (a key seen
/// in the last 5 minutes is the same run), sends lifecycle events and ticks, answers `agent.wait`, `status`,
/// `sessions.list` and `chat.history`, and runs a simulated agent that posts the task result to the callback
/// URL its prompt names, with the token the prompt carries.
///
/// Faults are switched at run time over HTTP on the same port (`POST /sandbox/faults`), so a test can take
/// the gateway through what the real one does: refuse connections, start slowly (1013), announce a restart
/// (`shutdown`, then 1012), drop connections mid-run, end runs in error or timeout, accept slowly, forget
/// its idempotency keys (as after a restart), or let the agent never call back.
public final class SandboxGateway: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var token: String
        public var tickInterval: Duration
        /// How long the simulated agent works before it calls back and the run ends.
        public var runDuration: Duration
        public var idempotencyWindow: Duration
        /// The gateway's configured agent ids; an `agent` request naming another is refused (INVALID_REQUEST),
        /// as the real gateway refuses an unknown agent. Nil accepts any.
        public var agents: Set<String>?
        /// Where the gateway-side lifecycle hook posts command:new and command:stop for each run, signed with
        /// `hookSecret` (Bullpen's `X-Bullpen-Signature`); nil sends none.
        public var hookURL: String?
        public var hookSecret: String?

        public init(
            host: String = "127.0.0.1", port: Int = 18789, token: String, tickInterval: Duration = .seconds(1),
            runDuration: Duration = .milliseconds(200), idempotencyWindow: Duration = .seconds(300),
            agents: Set<String>? = nil, hookURL: String? = nil, hookSecret: String? = nil
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.tickInterval = tickInterval
            self.runDuration = runDuration
            self.idempotencyWindow = idempotencyWindow
            self.agents = agents
            self.hookURL = hookURL
            self.hookSecret = hookSecret
        }
    }

    /// The switchable faults (`POST /sandbox/faults` with any of these fields).
    public struct Faults: Codable, Sendable, Equatable {
        public var refuseConnections = false
        /// Answer `connect` with UNAVAILABLE (startup-sidecars) and close 1013.
        public var starting = false
        /// Close every connection abruptly as soon as a run is accepted.
        public var dropMidRun = false
        /// How runs end: ok, error or timeout.
        public var finalStatus = "ok"
        /// A pause before `accepted`.
        public var slowAcceptMs = 0
        /// The simulated agent does not call back (the final reply still carries its output).
        public var neverCallBack = false
        /// No ticks (a connection that is open but dead, as behind a broken NAT).
        public var silent = false
        /// Runs work this long instead of the configured duration (0: as configured), so a test can reach one
        /// while it runs (`chat.abort`, `chat.send`).
        public var holdRunsMs = 0
        /// `chat.send` takes the message, then drops every connection before it answers (the sender cannot
        /// know the message arrived).
        public var dropOnChatSend = false

        public init() {}

        /// Any of the fields; the others keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            refuseConnections = try container.decodeIfPresent(Bool.self, forKey: .refuseConnections) ?? false
            starting = try container.decodeIfPresent(Bool.self, forKey: .starting) ?? false
            dropMidRun = try container.decodeIfPresent(Bool.self, forKey: .dropMidRun) ?? false
            finalStatus = try container.decodeIfPresent(String.self, forKey: .finalStatus) ?? "ok"
            slowAcceptMs = try container.decodeIfPresent(Int.self, forKey: .slowAcceptMs) ?? 0
            neverCallBack = try container.decodeIfPresent(Bool.self, forKey: .neverCallBack) ?? false
            silent = try container.decodeIfPresent(Bool.self, forKey: .silent) ?? false
            holdRunsMs = try container.decodeIfPresent(Int.self, forKey: .holdRunsMs) ?? 0
            dropOnChatSend = try container.decodeIfPresent(Bool.self, forKey: .dropOnChatSend) ?? false
        }
    }

    /// What the gateway has seen, for tests (`GET /sandbox/state`).
    public struct Snapshot: Codable, Sendable, Equatable {
        public var connectionsAccepted: Int
        public var connectionsOpen: Int
        public var runsStarted: Int
        public var runsByKey: [String: Int]
        public var callbacks: Int
        public var callbackFailures: Int
        public var hooksSent: Int
        public var lastRunMessage: String?
        public var lastExtraSystemPrompt: String?
        /// The last run's model override (`provider/model`) and thinking level, as asked.
        public var lastRunModel: String?
        public var lastRunThinking: String?
        /// The messages `chat.send` took, in order, and how many runs `chat.abort` stopped.
        public var chatSends: [String] = []
        public var aborts = 0
    }

    struct Run {
        var runID: String
        var sessionKey: String
        var label: String?
        var status = "running"
        var acceptedAt: Int64
        var endedAt: Int64?
        var final: Result<JSONValue, GatewayErrorShape>?
        var endedInstant: ContinuousClock.Instant?
        /// `chat.abort` stopped it.
        var aborted = false
        /// The run's work (a sleep), which `chat.abort` cancels.
        var working: Task<Void, any Error>?
    }

    /// A session as `sessions.list` shows it; sessions outlive a restart (the gateway keeps them on disk),
    /// idempotency keys do not.
    struct Session {
        var label: String?
        var updatedAt: Int64
        /// The session's transcript as `chat.history` gives it: the prompt, then the agent's final reply.
        var messages: [JSONValue] = []
    }

    struct State {
        var faults = Faults()
        /// What `agents.list` answers when set (`POST /sandbox/agents`); else the configured agents, or `main`.
        var roster: [String]?
        var runs: [String: Run] = [:]
        /// `chat.send`'s idempotency keys (forgotten with the runs', as on a restart).
        var chatKeys: Set<String> = []
        var sessions: [String: Session] = [:]
        var connections: [Int: WebSocketOutboundWriter] = [:]
        var nextConnection = 0
        var seq = 0
        var snapshot = Snapshot(
            connectionsAccepted: 0, connectionsOpen: 0, runsStarted: 0, runsByKey: [:], callbacks: 0,
            callbackFailures: 0, hooksSent: 0, lastRunMessage: nil, lastExtraSystemPrompt: nil, lastRunModel: nil,
            lastRunThinking: nil)
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

    public func setFaults(_ faults: Faults) { state.withLock { $0.faults = faults } }

    /// Forgets every idempotency key, as a restarted gateway does (its sessions stay).
    public func forgetRuns() {
        state.withLock { state in
            state.runs = [:]
            state.chatKeys = []
        }
    }

    /// Sends `shutdown {reason, restartExpectedMs}` to every connection, then closes them with 1012.
    public func announceRestart(restartExpectedMs: Int) async {
        let connections = state.withLock { Array($0.connections.values) }
        for outbound in connections {
            try? await outbound.write(
                .text(
                    GatewayFrame.event(
                        name: "shutdown",
                        payload: ["reason": "restart", "restartExpectedMs": .number(Double(restartExpectedMs))],
                        seq: nextSeq()
                    ).text))
            try? await outbound.close(.unknown(1012), reason: "service restart")
        }
    }

    /// Closes every connection at once, without a close frame's courtesy (the network dropped).
    public func dropConnections() async {
        let connections = state.withLock { Array($0.connections.values) }
        for outbound in connections { try? await outbound.close(.unexpectedServerError, reason: "dropped") }
    }

    /// The agent ids `agents.list` reports.
    var roster: [String] {
        state.withLock { $0.roster } ?? configuration.agents.map { $0.sorted() } ?? ["main"]
    }

    func nextSeq() -> Int {
        state.withLock { state in
            state.seq += 1
            return state.seq
        }
    }

    // MARK: the application

    /// The HTTP control routes and the WebSocket upgrade on `/`.
    public func application() -> some ApplicationProtocol {
        let router = Router()
        router.addSandboxControls(state: { self.snapshot }, setFaults: self.setFaults)
        router.post("/sandbox/agents") { request, _ in
            // {"agents": ["writer-1", ...]}: the gateway's configured agents as agents.list reports them.
            let body = try await request.body.collect(upTo: 1 << 16)
            guard
                let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                let agents = object["agents"] as? [String]
            else { return HTTPResponse.Status.badRequest }
            self.state.withLock { $0.roster = agents }
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/forget") { _, _ in
            self.forgetRuns()
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/shutdown") { request, _ in
            let ms = Int(request.uri.queryParameters.get("restartExpectedMs") ?? "") ?? 1000
            await self.announceRestart(restartExpectedMs: ms)
            return HTTPResponse.Status.noContent
        }
        router.post("/sandbox/drop") { _, _ in
            await self.dropConnections()
            return HTTPResponse.Status.noContent
        }
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 22))) { request, _, _ in
                guard request.path == "/" else { return .dontUpgrade }
                guard !self.state.withLock({ $0.faults.refuseConnections }) else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    try await GatewaySession(gateway: self, outbound: outbound).run(inbound)
                }
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "openclaw-sandbox"),
            logger: logger)
    }
}

extension Router {
    /// What every stand-in has: `GET /sandbox/state` (what it has seen) and `POST /sandbox/faults` (any of
    /// its faults' fields; the answer is the faults now in force).
    func addSandboxControls<State: Encodable & Sendable, Faults: Codable & Sendable>(
        state: @escaping @Sendable () -> State, setFaults: @escaping @Sendable (Faults) -> Void
    ) {
        get("/sandbox/state") { _, _ in try JSONResponse(state()) }
        post("/sandbox/faults") { request, context in
            let faults = try await request.decode(as: Faults.self, context: context)
            setFaults(faults)
            return try JSONResponse(faults)
        }
    }
}

/// A Codable value as a JSON response.
struct JSONResponse<Value: Encodable>: ResponseGenerator {
    let value: Value
    init(_ value: Value) throws { self.value = value }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

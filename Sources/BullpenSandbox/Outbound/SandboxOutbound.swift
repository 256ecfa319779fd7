import Foundation
import HTTPClient
import Hummingbird
import Logging
import Synchronization

/// `bullpen sandbox outbound`: stand-ins for the providers Bullpen sends through, with their real request
/// shapes and answers, recording what they received:
/// - Resend, `POST /emails`: a `Bearer re_...` key, a JSON email (from, to as a string or up to 50, subject,
///   html or text); 200 `{"id"}`; its errors as `{statusCode, name, message}`; the `Idempotency-Key` (same key
///   and payload: the first answer again, nothing sent; same key, other payload: 409
///   invalid_idempotent_request).
/// - Slack, `POST /slack/<hook>`: `{"text"}`; 200 `ok`; errors as plain text. And Slack's side of the Events
///   API: `POST /sandbox/slack/messages {channel, text, user?}` is a person writing in a channel; the stand-in
///   sends the signed `event_callback` to the events URL (ingest's `/webhooks/slack`), as Slack does.
/// - Discord, `POST /discord/<id>/<token>?wait=true`: `{content <= 2000, allowed_mentions?}`; 200 with the
///   message.
///
/// Faults, switched at run time (`POST /sandbox/faults`): the next N requests answered 429 with a
/// `Retry-After`, or 500; every request slowed; every email refused with 422.
public final class SandboxOutbound: Sendable {
    public struct Faults: Codable, Sendable, Equatable {
        /// Answer the next N requests 429 (rate_limit_exceeded) with `Retry-After: retryAfterSeconds`.
        public var rateLimitNext = 0
        public var retryAfterSeconds = 1
        /// Answer the next N requests 500.
        public var failNext = 0
        /// Wait this long before answering.
        public var slowMs = 0
        /// Refuse every email with 422 (validation_error).
        public var rejectEmails = false
        /// After accepting a new email (recorded as sent), wait this long before answering: the window in
        /// which a sender that dies has had its email sent without knowing it.
        public var slowAfterAcceptMs = 0

        public init() {}

        /// Any of the fields; the others keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rateLimitNext = try container.decodeIfPresent(Int.self, forKey: .rateLimitNext) ?? 0
            retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? 1
            failNext = try container.decodeIfPresent(Int.self, forKey: .failNext) ?? 0
            slowMs = try container.decodeIfPresent(Int.self, forKey: .slowMs) ?? 0
            rejectEmails = try container.decodeIfPresent(Bool.self, forKey: .rejectEmails) ?? false
            slowAfterAcceptMs = try container.decodeIfPresent(Int.self, forKey: .slowAfterAcceptMs) ?? 0
        }
    }

    /// What the stand-ins received and sent.
    public struct Snapshot: Codable, Sendable, Equatable {
        /// Requests received, faults included.
        public var requests = 0
        /// Emails sent (an idempotent repeat is not sent again), in order.
        public var emails: [SentEmail] = []
        public var slack: [String] = []
        public var discord: [String] = []
    }

    public struct SentEmail: Codable, Sendable, Equatable {
        public var id: String
        public var idempotencyKey: String?
        public var from: String
        public var to: [String]
        public var subject: String
        public var text: String?
        public var html: String?
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Where Slack's events go (ingest's `/webhooks/slack`), and the app's signing secret.
        public var slackEventsURL: String?
        public var slackSigningSecret: String
        /// The bot token Discord's Gateway stand-in (`/discord/gateway`) accepts; nil serves no Gateway.
        public var discordBotToken: String?
        public var discordHeartbeat: Duration

        public init(
            host: String = "127.0.0.1", port: Int = 18790, slackEventsURL: String? = nil,
            slackSigningSecret: String = "", discordBotToken: String? = nil, discordHeartbeat: Duration = .seconds(1)
        ) {
            self.host = host
            self.port = port
            self.slackEventsURL = slackEventsURL
            self.slackSigningSecret = slackSigningSecret
            self.discordBotToken = discordBotToken
            self.discordHeartbeat = discordHeartbeat
        }
    }

    private struct State {
        var faults = Faults()
        var snapshot = Snapshot()
        /// Idempotency key -> (the payload's bytes, the first answer's email id).
        var keys: [String: (payload: [UInt8], id: String)] = [:]
    }

    public let configuration: Configuration
    let logger: Logger
    private let state = Mutex(State())
    /// Discord's Gateway stand-in, when a bot token is configured.
    public let discordGateway: SandboxDiscordGateway?

    public init(configuration: Configuration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        discordGateway = configuration.discordBotToken.map { token in
            SandboxDiscordGateway(
                configuration: .init(
                    token: token, heartbeatInterval: configuration.discordHeartbeat,
                    resumeURL: "ws://\(configuration.host):\(configuration.port)/discord/gateway"),
                logger: logger)
        }
    }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }
    public func setFaults(_ faults: Faults) { state.withLock { $0.faults = faults } }

    /// Counts the request and takes the fault it meets, if any: the status to answer with.
    private func fault() -> (status: Int, retryAfter: Int)? {
        state.withLock { state in
            state.snapshot.requests += 1
            if state.faults.rateLimitNext > 0 {
                state.faults.rateLimitNext -= 1
                return (429, state.faults.retryAfterSeconds)
            }
            if state.faults.failNext > 0 {
                state.faults.failNext -= 1
                return (500, 0)
            }
            return nil
        }
    }

    private func slow() async {
        let ms = state.withLock { $0.faults.slowMs }
        if ms > 0 { try? await Task.sleep(for: .milliseconds(ms)) }
    }

    // MARK: Resend

    struct IncomingEmail: Decodable {
        let from: String
        let to: Recipients
        let subject: String
        let html: String?
        let text: String?

        /// A string or an array of them.
        struct Recipients: Decodable {
            let addresses: [String]
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let one = try? container.decode(String.self) {
                    addresses = [one]
                } else {
                    addresses = try container.decode([String].self)
                }
            }
        }
    }

    func email(_ request: Request, body: [UInt8]) async -> Response {
        await slow()
        if let (status, retryAfter) = fault() {
            return status == 429
                ? Self.resendError(429, "rate_limit_exceeded", "Too many requests.", retryAfter: retryAfter)
                : Self.resendError(500, "internal_server_error", "An unexpected error occurred.")
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer re_") else {
            return Self.resendError(401, "missing_api_key", "Missing or malformed API key in Authorization header.")
        }
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
            return Self.resendError(415, "invalid_content_type", "Content-Type must be application/json.")
        }
        guard let email = try? JSONDecoder().decode(IncomingEmail.self, from: Data(body)) else {
            return Self.resendError(422, "validation_error", "The body is not a valid email.")
        }
        guard (1...50).contains(email.to.addresses.count), email.to.addresses.allSatisfy({ $0.contains("@") }),
            email.html != nil || email.text != nil, !email.subject.isEmpty
        else {
            return Self.resendError(422, "validation_error", "Invalid `to`, `subject`, or missing html and text.")
        }
        if state.withLock({ $0.faults.rejectEmails }) {
            return Self.resendError(422, "validation_error", "The `to` address is not allowed.")
        }
        let key = request.headers[.init("Idempotency-Key")!]
        let answer = state.withLock { state -> (status: Int, id: String, lateMs: Int) in
            if let key, let seen = state.keys[key] {
                return seen.payload == body ? (200, seen.id, 0) : (409, "", 0)
            }
            let id = UUID().uuidString.lowercased()
            if let key { state.keys[key] = (body, id) }
            state.snapshot.emails.append(
                SentEmail(
                    id: id, idempotencyKey: key, from: email.from, to: email.to.addresses, subject: email.subject,
                    text: email.text, html: email.html))
            return (200, id, state.faults.slowAfterAcceptMs)
        }
        if answer.lateMs > 0 { try? await Task.sleep(for: .milliseconds(answer.lateMs)) }
        guard answer.status == 200 else {
            return Self.resendError(
                409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.")
        }
        return Self.json(200, ["id": answer.id])
    }

    static func resendError(_ status: Int, _ name: String, _ message: String, retryAfter: Int? = nil) -> Response {
        var response = json(
            status, ["statusCode": AnyEncodable(status), "name": AnyEncodable(name), "message": AnyEncodable(message)])
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    // MARK: Slack and Discord

    func slack(body: [UInt8]) async -> Response {
        await slow()
        if let (status, retryAfter) = fault() {
            var response = Self.text(status, status == 429 ? "rate_limited" : "rollup_error")
            if status == 429 { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
        struct Message: Decodable { let text: String }
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(body)), !message.text.isEmpty else {
            return Self.text(400, "invalid_payload")
        }
        state.withLock { $0.snapshot.slack.append(message.text) }
        return Self.text(200, "ok")
    }

    func discord(_ request: Request, body: [UInt8]) async -> Response {
        await slow()
        if let (status, retryAfter) = fault() {
            guard status == 429 else {
                return Self.json(500, ["message": AnyEncodable("500: Internal Server Error"), "code": AnyEncodable(0)])
            }
            var response = Self.json(
                429,
                [
                    "message": AnyEncodable("You are being rate limited."),
                    "retry_after": AnyEncodable(Double(retryAfter)), "global": AnyEncodable(false),
                ])
            response.headers[.retryAfter] = String(retryAfter)
            return response
        }
        struct Message: Decodable { let content: String }
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(body)), !message.content.isEmpty,
            message.content.count <= 2000
        else { return Self.json(400, ["message": AnyEncodable("Invalid Form Body"), "code": AnyEncodable(50035)]) }
        state.withLock { $0.snapshot.discord.append(message.content) }
        guard request.uri.queryParameters.get("wait") == "true" else { return Response(status: .noContent) }
        return Self.json(200, ["id": UUID().uuidString, "content": message.content])
    }

    /// A person writes in a Slack channel: the signed `event_callback` goes to the events URL; the answer says
    /// which event it was and what ingest answered.
    func slackEvent(body: [UInt8]) async -> Response {
        struct Written: Decodable {
            let channel: String
            let text: String
            let user: String?
        }
        guard let url = configuration.slackEventsURL, !configuration.slackSigningSecret.isEmpty else {
            return Self.json(
                503, ["error": "no events URL or signing secret (--slack-events-url, BULLPEN_SLACK_SIGNING_SECRET)"])
        }
        guard let written = try? JSONDecoder().decode(Written.self, from: Data(body)) else {
            return Self.json(400, ["error": "send {channel, text, user?}"])
        }
        let now = Date().timeIntervalSince1970
        let eventID = "Ev" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12)
        let envelope: [String: Any] = [
            "token": "sandbox", "team_id": "T0SANDBOX", "api_app_id": "A0SANDBOX", "type": "event_callback",
            "event_id": eventID, "event_time": Int(now),
            "event": [
                "type": "message", "channel": written.channel, "user": written.user ?? "U0SANDBOX",
                "text": written.text, "ts": String(format: "%.6f", now), "channel_type": "channel",
            ],
        ]
        let payload = Array((try? JSONSerialization.data(withJSONObject: envelope)) ?? Data())
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/json"), ("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)"),
            ]
                + SandboxSigning.slackHeaders(body: payload, secret: configuration.slackSigningSecret),
            body: payload, timeout: .seconds(10))
        let response = try? await Blocking.run { try CurlClient.perform(request) }
        return Self.json(200, ["eventId": eventID, "status": String(response?.status ?? 0)])
    }

    // MARK: the application

    public func application() -> some ApplicationProtocol {
        let router = Router()
        router.addSandboxControls(state: { self.snapshot }, setFaults: self.setFaults)
        router.post("/emails") { request, _ in
            await self.email(request, body: Array(buffer: try await request.body.collect(upTo: 1 << 20)))
        }
        router.post("/slack/:hook") { request, _ in
            await self.slack(body: Array(buffer: try await request.body.collect(upTo: 1 << 20)))
        }
        router.post("/sandbox/slack/messages") { request, _ in
            await self.slackEvent(body: Array(buffer: try await request.body.collect(upTo: 1 << 16)))
        }
        router.post("/discord/:id/:token") { request, _ in
            await self.discord(request, body: Array(buffer: try await request.body.collect(upTo: 1 << 20)))
        }
        discordGateway?.addRoutes(to: router)
        let discord = discordGateway
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 20))) { request, _, _ in
                // The path without its query (`?v=10&encoding=json`) or a trailing slash (a resume URL's).
                let path = (request.path ?? "").split(separator: "?").first.map(String.init) ?? ""
                guard let discord, path == "/discord/gateway" || path == "/discord/gateway/" else {
                    return .dontUpgrade
                }
                // READY's resume URL is the address the client reached (a port chosen at start included).
                let host = request.authority
                return .upgrade([:]) { inbound, outbound, _ in
                    try await discord.serve(inbound, outbound, resumeURL: host.map { "ws://\($0)/discord/gateway" })
                }
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "outbound-sandbox"),
            logger: logger)
    }

    static func json<Value: Encodable>(_ status: Int, _ value: Value) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array((try? JSONEncoder().encode(value)) ?? Data()))))
    }

    static func text(_ status: Int, _ text: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Any Encodable, for mixed JSON objects.
struct AnyEncodable: Encodable {
    let encode: (any Encoder) throws -> Void
    init<Value: Encodable>(_ value: Value) { encode = value.encode }
    func encode(to encoder: any Encoder) throws { try encode(encoder) }
}

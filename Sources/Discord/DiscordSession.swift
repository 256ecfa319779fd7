import Foundation

/// The rules of a listening bot's Gateway session, with no I/O (Discord's Gateway documentation, API v10):
/// identify on a fresh connection, resume (session id and last sequence, on the `resume_gateway_url`) after a
/// drop; heartbeat every `heartbeat_interval` with the last sequence, and treat a heartbeat not acknowledged
/// by the next one as a dead connection; obey `Reconnect` (7) and `Invalid Session` (9); and stop for good on
/// the close codes that say retrying cannot help (bad token, bad intents).
///
/// The sequence it resumes from is the last one the bot *handled*: a message is handled once Bullpen's broker
/// confirmed it (``handled(_:)``), so a message lost with a failed publish is replayed by the resume.
public struct DiscordSession: Sendable, Equatable {
    /// GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES and MESSAGE_CONTENT (privileged: enabled for the bot in the
    /// developer portal), without which a message's content is empty.
    public static let intents = 1 << 0 | 1 << 9 | 1 << 12 | 1 << 15

    public let token: String
    public let gatewayURL: String
    public private(set) var sessionID: String?
    public private(set) var resumeURL: String?
    /// The last sequence handled.
    public private(set) var sequence: Int?
    /// A heartbeat went out and its acknowledgement has not come.
    public private(set) var awaitingAck = false

    public init(token: String, gatewayURL: String) {
        self.token = token
        self.gatewayURL = gatewayURL
    }

    /// What to do next.
    public enum Action: Sendable, Equatable {
        case send(String)
        /// Start beating every `interval`, the first after `interval × jitter` (0...1).
        case startHeartbeat(interval: Duration)
        /// Close the connection (with a code that keeps the session, when `resume`) and connect again.
        case reconnect(resume: Bool, after: Duration)
        /// Hand a message to Bullpen; ``handled(_:)`` its sequence once it is safe.
        case deliver(DiscordMessage, sequence: Int)
        /// Never connect again: the reason (an operator must fix the token or the bot's intents).
        case stop(String)
    }

    public var canResume: Bool { sessionID != nil && sequence != nil }

    /// Where the next connection goes: the resume URL while a session can be resumed.
    public var connectURL: String {
        guard canResume, let resumeURL else { return gatewayURL }
        return Self.withQuery(resumeURL)
    }

    /// `?v=10&encoding=json` on a URL that has no query.
    static func withQuery(_ url: String) -> String { url.contains("?") ? url : url + "/?v=10&encoding=json" }

    /// A connection opened: nothing is pending from the last one.
    public mutating func connected() { awaitingAck = false }

    public mutating func receive(_ frame: DiscordFrame) -> [Action] {
        switch frame.opcode {
        case .hello:
            let interval = (frame.object?["heartbeat_interval"] as? NSNumber)?.intValue ?? 41_250
            return [.startHeartbeat(interval: .milliseconds(interval)), .send(canResume ? resume() : identify())]
        case .heartbeat:
            return [.send(heartbeat())]
        case .heartbeatAck:
            awaitingAck = false
            return []
        case .reconnect:
            return [.reconnect(resume: true, after: .zero)]
        case .invalidSession:
            let resumable = frame.d as? Bool ?? false
            if !resumable { forget() }
            // Discord asks for a pause of 1 to 5 s before identifying again.
            return [.reconnect(resume: resumable, after: resumable ? .zero : .seconds(2))]
        case .dispatch:
            return dispatch(frame)
        default:
            return []
        }
    }

    mutating func dispatch(_ frame: DiscordFrame) -> [Action] {
        guard let sequenceNumber = frame.s else { return [] }
        switch frame.t {
        case "READY":
            sessionID = frame.object?["session_id"] as? String
            resumeURL = frame.object?["resume_gateway_url"] as? String
            handled(sequenceNumber)
            return []
        case "MESSAGE_CREATE":
            guard let data = frame.object, let message = DiscordMessage(data), !message.authorIsBot,
                !message.content.isEmpty
            else {
                handled(sequenceNumber)
                return []
            }
            return [.deliver(message, sequence: sequenceNumber)]
        default:
            handled(sequenceNumber)
            return []
        }
    }

    /// The dispatch with this sequence is handled: a resume starts after it.
    public mutating func handled(_ sequenceNumber: Int) {
        if sequenceNumber > (sequence ?? -1) { sequence = sequenceNumber }
    }

    /// The heartbeat is due: a beat, or, when the last one was never acknowledged, a reconnect (the
    /// connection is a zombie).
    public mutating func heartbeatDue() -> Action {
        if awaitingAck { return .reconnect(resume: true, after: .zero) }
        awaitingAck = true
        return .send(heartbeat())
    }

    /// The connection closed with `code`: what next.
    public mutating func closed(code: Int?) -> Action {
        switch code {
        case 4004: return .stop("Discord refused the bot token (4004 authentication failed)")
        case 4010, 4011, 4012: return .stop("Discord closed the session for its shard or API version (\(code!))")
        case 4013: return .stop("Discord refused the intents (4013 invalid intents)")
        case 4014:
            return .stop(
                "Discord refused a privileged intent (4014): enable the message content intent for the bot")
        case 4007, 4009:
            forget()
            return .reconnect(resume: false, after: .seconds(1))
        default:
            return .reconnect(resume: canResume, after: .seconds(1))
        }
    }

    mutating func forget() {
        sessionID = nil
        resumeURL = nil
        sequence = nil
    }

    func heartbeat() -> String { DiscordFrame(.heartbeat, d: sequence.map { $0 as Any }).text }

    func identify() -> String {
        DiscordFrame(
            .identify,
            d: [
                "token": token, "intents": Self.intents,
                "properties": ["os": "linux", "browser": "bullpen", "device": "bullpen"],
            ] as [String: Any]
        ).text
    }

    func resume() -> String {
        DiscordFrame(
            .resume, d: ["token": token, "session_id": sessionID ?? "", "seq": sequence ?? 0] as [String: Any]
        )
        .text
    }
}

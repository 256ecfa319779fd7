import Foundation

/// What Slack's Events API sends to `POST /webhooks/slack`, and the part of it Bullpen takes: a person's
/// message in a channel, which becomes a message on the thread of the client whose channel it is.
///
/// - `url_verification` (`{"type": "url_verification", "challenge": "..."}`): Slack checks the address when an
///   app is set up; the answer is the challenge.
/// - `event_callback` with an `event` of type `message`, no `subtype` and no `bot_id`: a person wrote. Edits,
///   deletions, joins (subtypes) and bots' messages (Bullpen's own notifications among them) are not.
/// - Anything else is acknowledged and dropped: Slack needs a 2xx for every event it sends, or it retries.
public enum SlackEvent: Equatable, Sendable {
    case urlVerification(challenge: String)
    case message(SlackMessageReceived)
    case ignored(eventID: String?, reason: String)

    /// Reads a body whose signature ingest has checked; a body that is not Slack's shape is a
    /// ``ValidationError`` naming the field.
    public static func parse(_ body: [UInt8]) throws(ValidationError) -> SlackEvent {
        let object = try JSONBody.object(body)
        let type = try JSONBody.requiredString(object, "type")
        switch type {
        case "url_verification":
            let challenge = try JSONBody.requiredString(object, "challenge")
            try Check.text(challenge, "challenge", length: 1...500)
            return .urlVerification(challenge: challenge)
        case "event_callback":
            break
        default:
            return .ignored(eventID: nil, reason: "an envelope of type \(type.prefix(60))")
        }
        let eventID = try JSONBody.requiredString(object, "event_id")
        try Check.text(eventID, "event_id", length: 1...200)
        guard let event = object["event"] as? [String: Any] else {
            throw ValidationError(field: "event", message: "is required, an object")
        }
        do {
            return try taken(event, eventID: eventID, teamID: try JSONBody.optionalString(object, "team_id"))
        } catch {
            throw ValidationError(field: "event.\(error.field)", message: error.message)
        }
    }

    /// The event's part: a person's message, or why not.
    static func taken(_ event: [String: Any], eventID: String, teamID: String?) throws(ValidationError) -> SlackEvent {
        let kind = try JSONBody.requiredString(event, "type")
        guard kind == "message" else {
            return .ignored(eventID: eventID, reason: "an event of type \(kind.prefix(60))")
        }
        if let subtype = try JSONBody.optionalString(event, "subtype") {
            return .ignored(eventID: eventID, reason: "a message of subtype \(subtype.prefix(60))")
        }
        if event["bot_id"] != nil { return .ignored(eventID: eventID, reason: "a bot's message") }
        let text = try JSONBody.requiredString(event, "text")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .ignored(eventID: eventID, reason: "a message with no text")
        }
        let message = SlackMessageReceived(
            eventId: eventID, teamId: teamID, channel: try JSONBody.requiredString(event, "channel"),
            user: try JSONBody.optionalString(event, "user"),
            text: String(text.prefix(SlackMessageReceived.maxTextLength)), ts: try JSONBody.requiredString(event, "ts"))
        try Check.text(message.channel, "channel", length: 1...100)
        try Check.text(message.ts, "ts", length: 1...40)
        return .message(message)
    }
}

/// `chat.slack-message` (command queue): a person's message in a client's Slack channel. The command worker
/// posts it on the thread of that client's current project; Slack's event id is its identity, so a redelivered
/// event is one message.
public struct SlackMessageReceived: BullpenMessage, Equatable {
    public static let name = "chat.slack-message"
    public static let queue = WorkQueue.command
    public static let schemaVersion = 1
    /// A thread message's limit (`project.message`'s body); a longer Slack message is cut there.
    public static let maxTextLength = 10_000

    public var schema: Int
    public var eventId: String
    public var teamId: String?
    public var channel: String
    public var user: String?
    public var text: String
    /// Slack's id of the message in its channel.
    public var ts: String

    public var messageID: String { "slack:\(eventId)" }
    /// As a client's message in the portal alerts the operators.
    public var priority: Int? { 4 }

    public init(eventId: String, teamId: String?, channel: String, user: String?, text: String, ts: String) {
        schema = Self.schemaVersion
        self.eventId = eventId
        self.teamId = teamId
        self.channel = channel
        self.user = user
        self.text = text
        self.ts = ts
    }
}

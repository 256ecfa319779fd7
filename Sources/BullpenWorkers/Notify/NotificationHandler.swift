import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL
import Providers

/// Where notifications go out: the providers and the operators' own addresses.
public struct NotificationChannels: Sendable {
    /// Resend; nil when no API key is configured (email is then retried, and parked after the last tier).
    public var resend: ResendClient?
    /// "Name <address>" that emails come from.
    public var from: String
    /// Where operator alerts go by email; nil when none is configured (they are then skipped).
    public var operatorEmail: String?
    public var slack = SlackWebhook()
    public var discord = DiscordWebhook()
    /// The operators' Slack incoming webhook and Discord webhook, for the alerts routed there (credentials:
    /// from the environment only); nil when none.
    public var operatorSlack: String?
    public var operatorDiscord: String?
    /// The client portal's base URL, for links in clients' emails (`portalURL` in the templates).
    public var portalURL = "http://localhost:3000"

    public init(resend: ResendClient?, from: String, operatorEmail: String?) {
        self.resend = resend
        self.from = from
        self.operatorEmail = operatorEmail
    }

    /// No provider: every notification is retried, then parked, with the reason.
    public static let unconfigured = NotificationChannels(
        resend: nil, from: "Bullpen <bullpen@localhost>", operatorEmail: nil)
}

/// `notification.send` (notify queue), in the runtime's three steps (``OutsideCallingHandler``): the row read
/// and rendered in a short transaction, the provider called with none open, the provider's id recorded in a
/// second. An email carries the notification's key as Resend's `Idempotency-Key`, so a send repeated after a
/// crash between the provider's answer and the commit sends nothing more. A rate limit or a provider failure
/// is retried through the notify queue's tiers (a `Retry-After` honoured); a refusal retrying cannot fix is
/// parked at once with the provider's reason; parking marks the notification parked, and a replay of its
/// message sends it again.
public struct NotificationHandler: OutsideCallingHandler {
    public typealias Message = NotificationMessage
    let channels: NotificationChannels
    let templates: NotificationTemplates

    public init(channels: NotificationChannels, templates: NotificationTemplates) {
        self.channels = channels
        self.templates = templates
    }

    /// One rendered notification and where it goes.
    public struct Send: Sendable {
        let id: Int64
        let key: String
        let kind: NotificationKind
        let channel: NotificationChannel
        let recipient: String
        let rendered: NotificationTemplates.Rendered
    }

    public func prepare(
        _ message: NotificationMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> Preparation<Send>
    {
        guard let row = try NotificationStore.forSending(message.notificationId, in: tx) else {
            throw HandlerError.park(reason: "there is no notification \(message.notificationId)")
        }
        // Parked, and back: only a replay from the dead-letter queue sends its message again.
        if row.status == "parked" { try NotificationStore.reopen(row.id, in: tx) }
        guard row.status == "pending" || row.status == "parked" else { return .done(.duplicate) }
        guard let kind = NotificationKind(rawValue: row.kind), let channel = NotificationChannel(rawValue: row.channel)
        else { throw HandlerError.park(reason: "notification \(row.id) has an unknown kind or channel") }
        // An operator alert, the first time: its copies for the route's other channels; itself only if routed.
        if row.recipient == nil, channel == .email,
            !(try AlertFanOut.fanOut(
                notificationID: row.id, kind: row.kind, priority: message.notificationPriority, in: tx))
        {
            try NotificationStore.markUnsent(row.id, status: "skipped", reason: "its route sends it elsewhere", in: tx)
            return .done(.applied)
        }
        guard let recipient = try recipient(row.recipient, channel, in: tx) else {
            try NotificationStore.markUnsent(
                row.id, status: "skipped",
                reason: row.recipient.map { "\($0) has no \(channel.rawValue) webhook" }
                    ?? "no operator address is configured for \(channel.rawValue)", in: tx)
            return .done(.applied)
        }
        if channel == .email, channels.resend == nil {
            throw HandlerError.retryLater(reason: "no email provider is configured (BULLPEN_RESEND_API_KEY)")
        }
        let rendered = templates.render(kind, row.data.merging(["portalURL": channels.portalURL]) { given, _ in given })
        return .call(
            Send(id: row.id, key: row.key, kind: kind, channel: channel, recipient: recipient, rendered: rendered))
    }

    /// One by one, each with the provider's timeout.
    public func call(_ sends: [Send]) -> [Result<String?, HandlerError>] {
        sends.map { send in
            switch outcome(of: send) {
            case .sent(let providerID): return .success(providerID)
            case .retry(let reason, nil): return .failure(.retryLater(reason: reason))
            case .retry(let reason, let after?):
                return .failure(.retryAfter(reason: reason, seconds: Int(after.components.seconds) + 1))
            case .rejected(let reason): return .failure(.park(reason: reason))
            }
        }
    }

    private func outcome(of send: Send) -> SendOutcome {
        let rendered = send.rendered
        switch send.channel {
        case .email:
            guard let resend = channels.resend else {
                return .retry(reason: "no email provider is configured (BULLPEN_RESEND_API_KEY)", after: nil)
            }
            return resend.send(
                Email(
                    from: channels.from, to: [send.recipient], subject: rendered.subject, html: rendered.html,
                    text: rendered.text, tags: [.init(name: "kind", value: send.kind.rawValue)]),
                idempotencyKey: "bullpen-" + send.key)
        case .slack:
            return channels.slack.send(url: send.recipient, text: rendered.subject + "\n" + rendered.text)
        case .discord:
            return channels.discord.send(url: send.recipient, content: rendered.subject + "\n" + rendered.text)
        }
    }

    public func settle(
        _ message: NotificationMessage, _ inbound: InboundMessage, _ send: Send, _ providerID: String?,
        in tx: PGConnection
    ) throws -> HandlerResult {
        try NotificationStore.markSent(send.id, providerID: providerID, in: tx)
        return .applied
    }

    /// Where to send: the row's address; the operators' address, Slack or Discord webhook for an alert; a client's
    /// chat webhook (`client:<id>`), read now, so that the URL (a credential) is stored in one place only.
    func recipient(_ given: String?, _ channel: NotificationChannel, in tx: PGConnection) throws -> String? {
        guard let given else {
            switch channel {
            case .email: return channels.operatorEmail
            case .slack: return channels.operatorSlack
            case .discord: return channels.operatorDiscord
            }
        }
        guard channel != .email, given.hasPrefix(Notify.clientPrefix),
            let id = Int64(given.dropFirst(Notify.clientPrefix.count))
        else { return given }
        return try ClientStore.chatHook(clientID: id, channel: channel, in: tx)
    }

    public func parked(_ message: NotificationMessage, reason: String, in tx: PGConnection) throws {
        try NotificationStore.markUnsent(message.notificationId, status: "parked", reason: reason, in: tx)
    }
}

/// Writing a notification with the change that causes it: its row and its notify message, in the caller's
/// transaction.
public enum Notify {
    /// Two statements for any number of notifications: their rows, then their messages.
    public static func enqueue(_ batch: [NotificationStore.New], priority: Int = 3, in tx: PGConnection) throws {
        let ids = try NotificationStore.insert(batch, in: tx)
        try Outbox.enqueue(all: ids.map { NotificationMessage(notificationId: $0, priority: priority) }, in: tx)
    }

    public static func enqueue(_ new: NotificationStore.New, priority: Int = 3, in tx: PGConnection) throws {
        try enqueue([new], priority: priority, in: tx)
    }

    /// An alert to the operators about a task (``NotificationDraft/operatorAlert(_:cause:taskID:projectID:data:)``).
    public static func operatorAlert(
        _ kind: NotificationKind, cause: String, taskID: Int64?, projectID: Int64?, data: [String: String]
    ) -> NotificationStore.New {
        .operatorAlert(kind, cause: cause, taskID: taskID, projectID: projectID, data: data)
    }

    /// An email keyed by `cause` (``NotificationDraft/email(_:cause:to:clientID:projectID:taskID:data:)``).
    public static func email(
        _ kind: NotificationKind, cause: String, to recipient: String?, clientID: Int64? = nil, projectID: Int64?,
        taskID: Int64? = nil, data: [String: String]
    ) -> NotificationStore.New {
        .email(kind, cause: cause, to: recipient, clientID: clientID, projectID: projectID, taskID: taskID, data: data)
    }

    /// A chat notification's recipient for a client: resolved to its webhook when sent.
    public static let clientPrefix = "client:"

    /// A notification to a client, keyed by `cause`: by email (when it has an address) and on each chat
    /// channel it has a webhook for.
    public static func client(
        _ kind: NotificationKind, cause: String, clientID: Int64, email: String?, projectID: Int64?, taskID: Int64?,
        data: [String: String], priority: Int = 4, in tx: PGConnection
    ) throws {
        let chats = try ClientStore.chatChannels(clientID: clientID, in: tx)
        let addressed =
            (email.map { [(NotificationChannel.email, $0)] } ?? [])
            + chats.map { ($0, clientPrefix + String(clientID)) }
        try enqueue(
            addressed.map { channel, recipient in
                .init(
                    key: "\(kind.rawValue):\(cause):\(channel.rawValue)", kind: kind, channel: channel,
                    recipient: recipient, clientID: clientID, projectID: projectID, taskID: taskID, data: data)
            }, priority: priority, in: tx)
    }

    public static func operators(
        _ kind: NotificationKind, cause: String, taskID: Int64?, projectID: Int64?, data: [String: String],
        priority: Int, in tx: PGConnection
    ) throws {
        try enqueue(
            operatorAlert(kind, cause: cause, taskID: taskID, projectID: projectID, data: data), priority: priority,
            in: tx)
    }
}

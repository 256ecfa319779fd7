import BullpenDomain
import Foundation
import PostgreSQL

/// A project's message thread with its client (`client_messages`): written in the portal (the API and the CLI),
/// and by the client's people in its Slack or Discord channel (``postFromChat(_:messageID:now:in:)``). A client's message
/// waits for an answer (a message-response SLA); an operator's answers every message waiting.
public enum ClientThread {
    /// Who posts.
    public enum Sender: Sendable, Equatable {
        case client(Int64)
        case `operator`
    }

    /// A posted message and who is to hear of it.
    public struct Posted: Sendable, Equatable {
        public var id: Int64
        public var projectID: Int64
        public var projectName: String
        public var clientID: Int64
        public var clientEmail: String?
    }

    public static func threadID(project: Int64) -> String { "project-\(project)" }

    /// Where a message was written: `channel` (`portal`, `slack`), and the channel's own id of it, which makes a
    /// message delivered twice one row.
    public struct Origin: Sendable, Equatable {
        public var channel: ClientChannel
        public var externalID: String?
        public var senderName: String?
        public static let portal = Origin(channel: .portal, externalID: nil, senderName: nil)
    }

    public static func post(
        _ message: ProjectMessage, from sender: Sender, origin: Origin = .portal, messageID: String, now: Date,
        in tx: PGConnection
    ) throws -> Posted {
        guard
            let project = try tx.query(
                """
                SELECT p.name, p.status, p.client_id, c.name AS client_name, c.email
                  FROM projects p JOIN clients c ON c.id = p.client_id WHERE p.id = $1
                """, [message.id]
            ).first
        else { throw CommandRejection("there is no project \(message.id)") }
        let clientID: Int64 = try project.decode("client_id")
        if case .client(let id) = sender, id != clientID {
            throw CommandRejection("project \(message.id) is not yours")
        }
        let (senderKind, senderName): (String, String)
        switch sender {
        case .client: (senderKind, senderName) = ("client", try origin.senderName ?? project.decode("client_name"))
        case .operator: (senderKind, senderName) = ("operator", "Bullpen")
        }
        let id: Int64 = try tx.query(
            """
            INSERT INTO client_messages (client_id, project_id, thread_id, sender, sender_name, content, channel,
                                         external_message_id, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            """,
            [
                clientID, message.id, threadID(project: message.id), senderKind, senderName, message.body,
                origin.channel.rawValue, origin.externalID, now,
            ]
        ).first!.decode("id")
        switch sender {
        case .client: try SLAStore.open(.messageResponse, projectID: message.id, taskID: nil, now: now, in: tx)
        case .operator: try SLAStore.answered(projectID: message.id, now: now, in: tx)
        }
        try EventLog.record(
            "message.\(senderKind)", "\(senderName) wrote on project \(message.id)'s thread",
            data: "{\"messageId\": \(id)}", about: .init(clientID: clientID, projectID: message.id),
            messageID: messageID, in: tx)
        return Posted(
            id: id, projectID: message.id, projectName: try project.decode("name"), clientID: clientID,
            clientEmail: try project.decode("email", as: String?.self))
    }

    /// What became of a message from a client's chat channel.
    public enum ChatOutcome: Sendable, Equatable {
        case posted(Posted)
        /// The message is already on the thread (delivered twice under different ids, or replayed).
        case alreadyPosted
        /// No client has the channel.
        case unknownChannel
        /// The channel's client has no project that is not archived.
        case noProject(clientID: Int64)
    }

    /// A message in a client's chat channel.
    public struct ChatMessage: Sendable, Equatable {
        /// `slack` or `discord`: its column of `clients` and its `client_messages.channel`.
        public var channel: ClientChannel
        public var channelID: String
        /// The channel's own identity of the message.
        public var externalID: String
        /// The person, as the thread names them after the client ("Acme (Slack U123)").
        public var sender: String?
        public var text: String

        public init(channel: ClientChannel, channelID: String, externalID: String, sender: String?, text: String) {
            self.channel = channel
            self.channelID = channelID
            self.externalID = externalID
            self.sender = sender
            self.text = text
        }
    }

    /// A person's message in a client's Slack or Discord channel, posted as the client's on the thread of its
    /// current project (the newest not archived); the channel's id of the message makes a second delivery a
    /// no-op.
    public static func postFromChat(
        _ message: ChatMessage, messageID: String, now: Date, in tx: PGConnection
    ) throws -> ChatOutcome {
        let column = message.channel == .discord ? "discord_channel_id" : "slack_channel_id"
        guard
            let found = try tx.query(
                """
                SELECT c.id AS client_id, c.name AS client_name,
                       (SELECT p.id FROM projects p WHERE p.client_id = c.id AND p.status <> 'archived'
                         ORDER BY p.id DESC LIMIT 1) AS project_id,
                       EXISTS (SELECT 1 FROM client_messages m
                                WHERE m.channel = $3 AND m.external_message_id = $2) AS posted
                  FROM clients c WHERE c.\(column) = $1
                """, [message.channelID, message.externalID, message.channel.rawValue]
            ).first
        else { return .unknownChannel }
        let clientID: Int64 = try found.decode("client_id")
        guard try !found.decode("posted", as: Bool.self) else { return .alreadyPosted }
        guard let projectID = try found.decode("project_id", as: Int64?.self) else {
            return .noProject(clientID: clientID)
        }
        let name: String = try found.decode("client_name")
        let label = message.channel == .discord ? "Discord" : "Slack"
        return .posted(
            try post(
                ProjectMessage(id: projectID, body: message.text), from: .client(clientID),
                origin: Origin(
                    channel: message.channel, externalID: message.externalID,
                    senderName: message.sender.map { "\(name) (\(label) \($0))" } ?? "\(name) (\(label))"),
                messageID: messageID, now: now, in: tx))
    }

    /// A Slack message as a chat message: its identity is its channel and its ts.
    public static func chat(_ message: SlackMessageReceived) -> ChatMessage {
        ChatMessage(
            channel: .slack, channelID: message.channel, externalID: "\(message.channel):\(message.ts)",
            sender: message.user, text: message.text)
    }

    /// A Discord message as a chat message: its identity is Discord's message id.
    public static func chat(_ message: DiscordMessageReceived) -> ChatMessage {
        ChatMessage(
            channel: .discord, channelID: message.channelId, externalID: message.messageId,
            sender: message.authorName, text: message.text)
    }
}

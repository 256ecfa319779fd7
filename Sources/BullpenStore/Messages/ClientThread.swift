import BullpenDomain
import Foundation
import PostgreSQL

/// A project's message thread with its client (`client_messages`): the portal today; Slack and Discord carry
/// the same thread when configured (not built). A client's message waits for an answer (a message-response
/// SLA); an operator's answers every message waiting.
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

    public static func post(
        _ message: ProjectMessage, from sender: Sender, messageID: String, now: Date, in tx: PGConnection
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
        case .client: (senderKind, senderName) = ("client", try project.decode("client_name"))
        case .operator: (senderKind, senderName) = ("operator", "Bullpen")
        }
        let id: Int64 = try tx.query(
            """
            INSERT INTO client_messages (client_id, project_id, thread_id, sender, sender_name, content, channel,
                                         created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'portal', $7) RETURNING id
            """,
            [clientID, message.id, threadID(project: message.id), senderKind, senderName, message.body, now]
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
}

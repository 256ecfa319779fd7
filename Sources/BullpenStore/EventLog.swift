import Foundation
import PostgreSQL

/// The audit log: one events row per state change (the table's trigger sends the NOTIFY).
public enum EventLog {
    public static func append(
        type: String, message: String, data: [String: any Sendable] = [:], agentID: Int64? = nil,
        clientID: Int64? = nil, projectID: Int64? = nil, taskID: Int64? = nil, deliverableID: Int64? = nil,
        messageID: String? = nil, in tx: PGConnection
    ) throws {
        let json = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        tx.prepare("events.append", """
            INSERT INTO events (type, message, data, agent_id, client_id, project_id, task_id, deliverable_id, message_id)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
            """)
        try tx.executePrepared("events.append", [
            type, message, json, agentID, clientID, projectID, taskID, deliverableID, messageID,
        ])
    }
}

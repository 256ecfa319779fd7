import PostgreSQL

/// The audit log: every state change writes one `events` row in the transaction that makes it (and the row's
/// trigger notifies `bullpen_events`, which feeds the live event stream).
public enum EventLog {
    /// What an event is about; the ids that apply.
    public struct Subject: Sendable {
        public var clientID: Int64?
        public var projectID: Int64?
        public var taskID: Int64?
        public var agentID: Int64?

        public init(clientID: Int64? = nil, projectID: Int64? = nil, taskID: Int64? = nil, agentID: Int64? = nil) {
            self.clientID = clientID
            self.projectID = projectID
            self.taskID = taskID
            self.agentID = agentID
        }
    }

    /// Writes an event; `data` is a JSON object's text, `messageID` the message that caused it.
    public static func record(
        _ type: String, _ message: String, data: String = "{}", about subject: Subject, messageID: String?,
        in tx: PGConnection
    ) throws {
        tx.prepare(
            "events.record",
            """
            INSERT INTO events (type, message, data, client_id, project_id, task_id, agent_id, message_id)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)
            """)
        _ = try tx.executePrepared(
            "events.record",
            [type, message, data, subject.clientID, subject.projectID, subject.taskID, subject.agentID, messageID])
    }
}

import PostgreSQL

/// The inbox and the dead-letter table: the rows behind "applied once" and "parked with a reason".
public enum MessageLedger {
    /// Records a message id as applied, inside the caller's transaction. False when it already was:
    /// the second delivery of a message must change nothing.
    public static func recordApplied(messageID: String, queue: String, type: String?, in tx: PGConnection) throws -> Bool {
        tx.prepare("inbox.insert", """
            INSERT INTO inbox (message_id, queue, message_type) VALUES ($1, $2, $3)
            ON CONFLICT (message_id) DO NOTHING
            """)
        return try tx.executePrepared("inbox.insert", [messageID, queue, type]).rowsAffected == 1
    }

    /// True when the message id is in the inbox.
    public static func isApplied(messageID: String, on db: PGConnection) throws -> Bool {
        try db.query("SELECT 1 FROM inbox WHERE message_id = $1", [messageID]).count == 1
    }

    /// Records a parked message. Parking the same message twice keeps one row.
    public static func recordParked(
        queue: String, messageID: String?, type: String?, reason: String, attempts: Int, headersJSON: String,
        body: [UInt8], on db: PGConnection
    ) throws {
        try db.query("""
            INSERT INTO dead_letters (queue, message_id, message_type, reason, attempts, headers, body)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
            ON CONFLICT (queue, message_id) WHERE status = 'parked' DO NOTHING
            """, [queue, messageID, type, String(reason.prefix(2000)), attempts, headersJSON, PGBytes(body)])
    }
}

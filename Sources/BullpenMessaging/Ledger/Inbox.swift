import Foundation
import PostgreSQL

/// The inbox: the message ids already applied, the rows behind "applied once". Inserted in the transaction
/// of the effect, so the second delivery of a message finds its row and changes nothing.
public enum Inbox {
    /// Records a message id as applied, inside the caller's transaction. False when it already was:
    /// the second delivery of a message must change nothing.
    public static func recordApplied(
        messageID: String, queue: String, type: String?, in tx: PGConnection
    ) throws -> Bool {
        tx.prepare(
            "inbox.insert",
            """
            INSERT INTO inbox (message_id, queue, message_type) VALUES ($1, $2, $3)
            ON CONFLICT (message_id) DO NOTHING
            """)
        return try tx.executePrepared("inbox.insert", [messageID, queue, type]).rowsAffected == 1
    }

    /// Which of these message ids were applied already (read only), in one statement.
    public static func applied(among messageIDs: [String], in tx: PGConnection) throws -> Set<String> {
        tx.prepare("inbox.applied_among", "SELECT message_id FROM inbox WHERE message_id = ANY($1::text[])")
        return Set(
            try tx.executePrepared("inbox.applied_among", [PGArray(messageIDs)]).rows.map {
                try $0.decode(at: 0, as: String.self)
            })
    }

    /// Records a batch of message ids in one statement, inside the caller's transaction; returns, per
    /// position, whether that message is new (a repeat later in the same batch counts as applied already).
    public static func recordApplied(
        messageIDs: [String], queue: String, types: [String?], in tx: PGConnection
    ) throws -> [Bool] {
        tx.prepare(
            "inbox.insert_batch",
            """
            INSERT INTO inbox (message_id, queue, message_type)
            SELECT id, $2, type FROM unnest($1::text[], $3::text[]) AS m(id, type)
            ON CONFLICT (message_id) DO NOTHING
            RETURNING message_id
            """)
        let inserted = Set(
            try tx.executePrepared(
                "inbox.insert_batch", [PGArray(messageIDs), queue, PGArray(types)]
            ).rows.map { try $0.decode(at: 0, as: String.self) })
        var seen = Set<String>()
        return messageIDs.map { id in inserted.contains(id) && seen.insert(id).inserted }
    }
}

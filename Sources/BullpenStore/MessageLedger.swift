import Foundation
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

    /// Records a batch of message ids in one statement, inside the caller's transaction; returns, per
    /// position, whether that message is new (a repeat later in the same batch counts as applied already).
    public static func recordApplied(messageIDs: [String], queue: String, types: [String?], in tx: PGConnection) throws -> [Bool] {
        tx.prepare("inbox.insert_batch", """
            INSERT INTO inbox (message_id, queue, message_type)
            SELECT id, $2, type FROM unnest($1::text[], $3::text[]) AS m(id, type)
            ON CONFLICT (message_id) DO NOTHING
            RETURNING message_id
            """)
        let inserted = Set(try tx.executePrepared(
            "inbox.insert_batch", [PGArray(messageIDs), queue, PGArray(types)]
        ).rows.map { try $0.decode(at: 0, as: String.self) })
        var seen = Set<String>()
        return messageIDs.map { id in inserted.contains(id) && seen.insert(id).inserted }
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

/// A parked message as recorded in dead_letters.
public struct DeadLetter: Sendable, Equatable {
    public let id: Int64
    public let queue: String
    public let messageID: String?
    public let type: String?
    public let reason: String
    public let attempts: Int
    public let headersJSON: String
    public let body: [UInt8]
    public let status: String
    public let parkedAt: Date
}

extension MessageLedger {
    private static let deadLetterColumns =
        "id, queue, message_id, message_type, reason, attempts, headers::text AS headers, body, status, parked_at"

    /// Parked (not yet replayed or purged) messages of a queue, oldest first.
    public static func parked(queue: String, limit: Int = 100, on db: PGConnection) throws -> [DeadLetter] {
        try db.query(
            "SELECT \(deadLetterColumns) FROM dead_letters WHERE queue = $1 AND status = 'parked' ORDER BY id LIMIT $2",
            [queue, limit]
        ).rows.map(deadLetter)
    }

    /// One dead letter of a queue, whatever its status.
    public static func deadLetter(id: Int64, queue: String, on db: PGConnection) throws -> DeadLetter? {
        try db.query("SELECT \(deadLetterColumns) FROM dead_letters WHERE id = $1 AND queue = $2", [id, queue]).first.map(deadLetter)
    }

    /// Marks parked rows replayed or purged.
    public static func resolve(ids: [Int64], as status: String, on db: PGConnection) throws {
        precondition(status == "replayed" || status == "purged")
        guard !ids.isEmpty else { return }
        try db.query(
            "UPDATE dead_letters SET status = $2, resolved_at = now() WHERE id = ANY($1::bigint[]) AND status = 'parked'",
            ["{" + ids.map(String.init).joined(separator: ",") + "}", status])
    }

    private static func deadLetter(_ row: PGRow) throws -> DeadLetter {
        DeadLetter(
            id: try row.decode("id"), queue: try row.decode("queue"), messageID: try row.decode("message_id", as: String?.self),
            type: try row.decode("message_type", as: String?.self), reason: try row.decode("reason"),
            attempts: try row.decode("attempts"), headersJSON: try row.decode("headers"),
            body: try row.decode("body", as: PGBytes.self).bytes, status: try row.decode("status"),
            parkedAt: try row.decode("parked_at"))
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// The dead_letters table: every parked message with its reason, headers and body, for operators to list,
/// replay and purge. The message itself waits in the queue's dead-letter queue.
public enum DeadLetters {
    /// Records a parked message. Parking the same message twice keeps one row.
    public static func recordParked(
        queue: String, messageID: String?, type: String?, reason: String, attempts: Int, headersJSON: String,
        body: [UInt8], on db: PGConnection
    ) throws {
        try db.query(
            """
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

extension DeadLetters {
    private static let deadLetterColumns =
        "id, queue, message_id, message_type, reason, attempts, headers::text AS headers, body, status, parked_at"

    /// Parked (not yet replayed or purged) messages of a queue, oldest first.
    public static func parked(queue: WorkQueue, limit: Int = 100, on db: PGConnection) throws -> [DeadLetter] {
        try db.query(
            "SELECT \(deadLetterColumns) FROM dead_letters WHERE queue = $1 AND status = 'parked' ORDER BY id LIMIT $2",
            [queue.rawValue, limit]
        ).rows.map(deadLetter)
    }

    /// One dead letter of a queue, whatever its status.
    public static func deadLetter(id: Int64, queue: WorkQueue, on db: PGConnection) throws -> DeadLetter? {
        try db.query(
            "SELECT \(deadLetterColumns) FROM dead_letters WHERE id = $1 AND queue = $2", [id, queue.rawValue]
        ).first.map(deadLetter)
    }

    /// How a parked message stopped being parked.
    public enum Resolution: String, Sendable {
        case replayed, purged
    }

    /// Marks parked rows replayed or purged.
    public static func resolve(ids: [Int64], as resolution: Resolution, on db: PGConnection) throws {
        guard !ids.isEmpty else { return }
        try db.query(
            "UPDATE dead_letters SET status = $2, resolved_at = now() WHERE id = ANY($1::bigint[]) AND status = 'parked'",
            [PGArray(ids.map(String.init)), resolution.rawValue])
    }

    private static func deadLetter(_ row: PGRow) throws -> DeadLetter {
        DeadLetter(
            id: try row.decode("id"), queue: try row.decode("queue"),
            messageID: try row.decode("message_id", as: String?.self),
            type: try row.decode("message_type", as: String?.self), reason: try row.decode("reason"),
            attempts: try row.decode("attempts"), headersJSON: try row.decode("headers"),
            body: try row.decode("body", as: PGBytes.self).bytes, status: try row.decode("status"),
            parkedAt: try row.decode("parked_at"))
    }
}

import AMQP
import BullpenDomain
import Foundation
import PostgreSQL

/// The dead_letters table: every parked message with its reason, headers and body. It is the record of what is
/// parked: operators list, replay and purge its rows (operator commands), and the broker's dead-letter queues
/// are only the way in (``DeadLetterKeeper`` drains them into the table).
public enum DeadLetters {
    /// Records a parked message. Parking the same message twice keeps one row.
    public static func recordParked(
        queue: String, messageID: String?, type: String?, priority: Int?, reason: String, attempts: Int,
        headersJSON: String, body: [UInt8], on db: PGConnection
    ) throws {
        try db.query(
            """
            INSERT INTO dead_letters (queue, message_id, message_type, priority, reason, attempts, headers, body)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
            ON CONFLICT (queue, message_id) WHERE status = 'parked' DO NOTHING
            """,
            [
                queue, messageID, type, priority.map { min(max($0, 0), 255) }, String(reason.prefix(2000)), attempts,
                headersJSON, PGBytes(body),
            ])
    }

    /// What a replay or purge did to the rows it named.
    public struct Resolution: Sendable, Equatable, Codable {
        /// Rows that were parked and now are not.
        public var resolved: [Int64]
        /// Named rows that were not parked (replayed or purged before).
        public var notParked: [Int64]

        public init(resolved: [Int64], notParked: [Int64]) {
            self.resolved = resolved
            self.notParked = notParked
        }
    }

    /// Sends parked messages back to their work queues as attempt 1, through the outbox: in the caller's
    /// transaction, each row is locked, its message written to the outbox (same message id, type, priority
    /// and body; its earlier life taken out of its headers) and the row marked replayed. If the transaction
    /// rolls back, nothing is replayed; once it commits, the outbox relay publishes each message once. A
    /// message replayed twice is still applied once (the inbox).
    public static func replay(ids: [Int64], now: Date = Date(), in tx: PGConnection) throws -> Resolution {
        let rows = try tx.query(
            "SELECT \(columns) FROM dead_letters WHERE id = ANY($1::bigint[]) AND status = 'parked' ORDER BY id FOR UPDATE",
            [PGArray(ids.map(String.init))]
        ).rows.map(deadLetter)
        for row in rows {
            let headers = Envelope.replayHeaders(AMQPTable(json: row.headersJSON), now: now)
            try Outbox.enqueue(
                Outbox.Entry(
                    messageID: row.messageID ?? "dead-letter:\(row.id)", queue: row.queue, type: row.type ?? "",
                    priority: row.priority.map { min($0, Outbox.maxPriority) }, headersJSON: headers.jsonString,
                    body: row.body),
                deadLetterID: row.id, in: tx)
        }
        let replayed = rows.map(\.id)
        try mark(replayed, "replayed", in: tx)
        return Resolution(resolved: replayed, notParked: ids.filter { !replayed.contains($0) })
    }

    /// Gives up on parked messages: the named rows, or every parked row of a queue. The rows stay, marked purged.
    public static func purge(ids: [Int64]?, queue: WorkQueue?, in tx: PGConnection) throws -> Resolution {
        let purged: [Int64] = try tx.query(
            """
            UPDATE dead_letters SET status = 'purged', resolved_at = now()
             WHERE status = 'parked' AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
               AND ($2::text IS NULL OR queue = $2)
            RETURNING id
            """, [ids.map { PGArray($0.map(String.init)) }, queue?.rawValue]
        ).rows.map { try $0.decode("id") }.sorted()
        return Resolution(resolved: purged, notParked: (ids ?? []).filter { !purged.contains($0) })
    }

    private static func mark(_ ids: [Int64], _ status: String, in tx: PGConnection) throws {
        guard !ids.isEmpty else { return }
        try tx.query(
            "UPDATE dead_letters SET status = $2, resolved_at = now() WHERE id = ANY($1::bigint[])",
            [PGArray(ids.map(String.init)), status])
    }
}

/// A parked message as recorded in dead_letters.
public struct DeadLetter: Sendable, Equatable {
    public let id: Int64
    public let queue: String
    public let messageID: String?
    public let type: String?
    public let priority: Int?
    public let reason: String
    public let attempts: Int
    public let headersJSON: String
    public let body: [UInt8]
    public let status: String
    public let parkedAt: Date
}

extension DeadLetters {
    fileprivate static let columns =
        "id, queue, message_id, message_type, priority, reason, attempts, headers::text AS headers, body, status, parked_at"

    /// Parked (not yet replayed or purged) messages of a queue, oldest first.
    public static func parked(queue: WorkQueue, limit: Int = 100, on db: PGConnection) throws -> [DeadLetter] {
        try db.query(
            "SELECT \(columns) FROM dead_letters WHERE queue = $1 AND status = 'parked' ORDER BY id LIMIT $2",
            [queue.rawValue, limit]
        ).rows.map(deadLetter)
    }

    fileprivate static func deadLetter(_ row: PGRow) throws -> DeadLetter {
        DeadLetter(
            id: try row.decode("id"), queue: try row.decode("queue"),
            messageID: try row.decode("message_id", as: String?.self),
            type: try row.decode("message_type", as: String?.self),
            priority: try row.decode("priority", as: Int?.self), reason: try row.decode("reason"),
            attempts: try row.decode("attempts"), headersJSON: try row.decode("headers"),
            body: try row.decode("body", as: PGBytes.self).bytes, status: try row.decode("status"),
            parkedAt: try row.decode("parked_at"))
    }
}

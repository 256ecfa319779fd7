import BullpenDomain
import Foundation
import PostgreSQL

/// Messages to publish after the transaction that wrote them commits (the outbox pattern).
public enum Outbox {
    /// The highest priority an outbox row may carry (the work queues' `x-max-priority`).
    public static let maxPriority = 5

    /// A message waiting in the outbox.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var messageID: String
        /// The work queue's name (the routing key on the work exchange).
        public var queue: String
        public var type: String
        public var priority: Int?
        public var correlationID: String?
        public var headersJSON: String
        public var body: [UInt8]

        public init(
            id: Int64 = 0, messageID: String, queue: String, type: String, priority: Int? = nil,
            correlationID: String? = nil, headersJSON: String = "{}", body: [UInt8]
        ) {
            self.id = id
            self.messageID = messageID
            self.queue = queue
            self.type = type
            self.priority = priority
            self.correlationID = correlationID
            self.headersJSON = headersJSON
            self.body = body
        }
    }

    /// Adds a message inside the caller's transaction, to be published to its queue after the commit. A
    /// message id already in the outbox is kept as it was (the follow-up of a message applied twice is
    /// published once).
    public static func enqueue<Message: BullpenMessage>(
        _ message: Message, correlationID: String? = nil, in tx: PGConnection
    ) throws {
        try enqueue(
            Entry(
                messageID: message.messageID, queue: Message.queue.rawValue, type: Message.name,
                priority: message.priority,
                correlationID: correlationID, body: try Envelope.body(message)),
            in: tx)
    }

    /// Adds messages of one type inside the caller's transaction, in one statement (as ``enqueue(_:correlationID:in:)``
    /// does for one).
    public static func enqueue<Message: BullpenMessage>(all messages: [Message], in tx: PGConnection) throws {
        guard messages.count > 1 else {
            if let message = messages.first { try enqueue(message, in: tx) }
            return
        }
        tx.prepare(
            "outbox.enqueue_all",
            """
            INSERT INTO outbox (message_id, queue, message_type, priority, body)
            SELECT message_id, $1, $2, priority, body
              FROM unnest($3::text[], $4::int[], $5::bytea[]) AS m(message_id, priority, body)
            ON CONFLICT DO NOTHING
            """)
        try tx.executePrepared(
            "outbox.enqueue_all",
            [
                Message.queue.rawValue, Message.name, PGArray(messages.map(\.messageID)),
                PGArray(messages.map { $0.priority.map(String.init) }),
                PGArray(try messages.map { PGBytes(try Envelope.body($0)).pgText }),
            ])
    }

    /// Adds an entry inside the caller's transaction. `deadLetterID` marks the replay of a parked message: it
    /// keys the row instead of the message id (which an earlier row of the same message may hold), so each
    /// dead letter is replayed once.
    static func enqueue(_ entry: Entry, deadLetterID: Int64? = nil, in tx: PGConnection) throws {
        tx.prepare(
            "outbox.enqueue",
            """
            INSERT INTO outbox (message_id, queue, message_type, priority, correlation_id, headers, body, dead_letter_id)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
            ON CONFLICT DO NOTHING
            """)
        try tx.executePrepared(
            "outbox.enqueue",
            [
                entry.messageID, entry.queue, entry.type, entry.priority, entry.correlationID, entry.headersJSON,
                PGBytes(entry.body), deadLetterID,
            ])
    }

    /// Locks up to `limit` due, unsent rows that no other relay holds (FOR UPDATE SKIP LOCKED).
    public static func claim(limit: Int, in tx: PGConnection) throws -> [Entry] {
        tx.prepare(
            "outbox.claim",
            """
            SELECT id, message_id, queue, message_type, priority, correlation_id, headers::text AS headers, body
              FROM outbox
             WHERE sent_at IS NULL AND available_at <= now()
             ORDER BY id
             LIMIT $1
               FOR UPDATE SKIP LOCKED
            """)
        return try tx.executePrepared("outbox.claim", [limit]).rows.map { row in
            Entry(
                id: try row.decode("id"), messageID: try row.decode("message_id"), queue: try row.decode("queue"),
                type: try row.decode("message_type"),
                priority: try row.decode("priority", as: Int?.self),
                correlationID: try row.decode("correlation_id", as: String?.self),
                headersJSON: try row.decode("headers"), body: try row.decode("body", as: PGBytes.self).bytes)
        }
    }

    /// Marks rows as published.
    public static func markSent(_ ids: [Int64], in tx: PGConnection) throws {
        guard !ids.isEmpty else { return }
        try tx.query("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [PGArray(ids.map(String.init))])
    }

    /// Puts rows back for a later try, with a growing delay (1 s, 2 s, 4 s ... up to 60 s).
    public static func markFailed(_ ids: [Int64], error: String, in tx: PGConnection) throws {
        guard !ids.isEmpty else { return }
        try tx.query(
            """
            UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                   available_at = now() + least(60, power(2, attempts)) * interval '1 second'
             WHERE id = ANY($1::bigint[])
            """, [PGArray(ids.map(String.init)), String(error.prefix(500))])
    }

    /// Seconds since the oldest unsent row was written; 0 when none waits.
    public static func lagSeconds(on db: PGConnection) throws -> Double {
        try db.query(
            """
            SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag FROM outbox WHERE sent_at IS NULL
            """
        ).first?.decode("lag") ?? 0
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// The `notifications` table: written with the change that causes a notification, read and settled by the
/// notify worker, listed for operators.
public enum NotificationStore {
    /// A notification to write (decided in the domain).
    public typealias New = NotificationDraft

    /// Writes the notifications in one statement; returns the ids of those written (a key written before is
    /// skipped: the same cause twice is one notification).
    public static func insert(_ batch: [New], in tx: PGConnection) throws -> [Int64] {
        guard !batch.isEmpty else { return [] }
        let data = try batch.map { String(decoding: try JSONEncoder().encode($0.data), as: UTF8.self) }
        tx.prepare(
            "notifications.insert",
            """
            INSERT INTO notifications (key, kind, channel, recipient, client_id, project_id, task_id, data)
            SELECT key, kind, channel, recipient, client_id, project_id, task_id, data::jsonb
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                          $8::text[]) AS n(key, kind, channel, recipient, client_id, project_id, task_id, data)
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """)
        func ids(_ values: [Int64?]) -> PGArray { PGArray(values.map { $0.map(String.init) }) }
        return try tx.executePrepared(
            "notifications.insert",
            [
                PGArray(batch.map(\.key)), PGArray(batch.map(\.kind.rawValue)), PGArray(batch.map(\.channel.rawValue)),
                PGArray(batch.map(\.recipient)), ids(batch.map(\.clientID)), ids(batch.map(\.projectID)),
                ids(batch.map(\.taskID)), PGArray(data),
            ]
        ).rows.map { try $0.decode("id") }
    }

    /// A notification as the notify worker sends it, or an operator reads it.
    public struct Row: Sendable, Equatable {
        public var id: Int64
        public var key: String
        public var kind: String
        public var channel: String
        public var recipient: String?
        public var taskID: Int64?
        public var data: [String: String]
        public var status: String
        public var providerID: String?
        public var attempts: Int
        public var lastError: String?
        public var createdAt: Date
        public var sentAt: Date?
    }

    private static let columns = """
        id, key, kind, channel, recipient, task_id, data::text AS data, status, provider_id, attempts, last_error,
        created_at, sent_at
        """

    private static func row(_ row: PGRow) throws -> Row {
        Row(
            id: try row.decode("id"), key: try row.decode("key"), kind: try row.decode("kind"),
            channel: try row.decode("channel"), recipient: try row.decode("recipient", as: String?.self),
            taskID: try row.decode("task_id", as: Int64?.self),
            data: (try? JSONDecoder().decode(
                [String: String].self, from: Data(try row.decode("data", as: String.self).utf8)))
                ?? [:],
            status: try row.decode("status"), providerID: try row.decode("provider_id", as: String?.self),
            attempts: try row.decode("attempts"), lastError: try row.decode("last_error", as: String?.self),
            createdAt: try row.decode("created_at"), sentAt: try row.decode("sent_at", as: Date?.self))
    }

    /// The notification, its row locked for the send; nil when there is none.
    public static func forSending(_ id: Int64, in tx: PGConnection) throws -> Row? {
        try tx.query("SELECT \(columns) FROM notifications WHERE id = $1 FOR UPDATE", [id]).first.map(row)
    }

    /// The template value that carries a single-use link's token (an intake confirmation's): kept only until
    /// the email is sent.
    public static let confirmPathKey = "confirmPath"

    /// Sent: the provider's id, the time; once. A link's token in the values is dropped (``confirmPathKey``).
    public static func markSent(_ id: Int64, providerID: String?, in tx: PGConnection) throws {
        try tx.query(
            """
            UPDATE notifications SET status = 'sent', provider_id = $2, sent_at = now(), attempts = attempts + 1,
                                     last_error = NULL, data = data - '\(confirmPathKey)'
             WHERE id = $1 AND status = 'pending'
            """, [id, providerID])
    }

    /// Not sent, for a reason that settles it (`skipped`: nowhere to send it; `parked`: the provider refused,
    /// or the retries ran out).
    public static func markUnsent(_ id: Int64, status: String, reason: String, in tx: PGConnection) throws {
        try tx.query(
            """
            UPDATE notifications SET status = $2, last_error = $3, attempts = attempts + 1
             WHERE id = $1 AND status = 'pending'
            """, [id, status, String(reason.prefix(1000))])
    }

    /// A parked notification replayed: pending again.
    public static func reopen(_ id: Int64, in tx: PGConnection) throws {
        try tx.query("UPDATE notifications SET status = 'pending' WHERE id = $1 AND status = 'parked'", [id])
    }

    /// The newest notifications first, optionally of one status or task, for operators.
    public static func list(
        status: String? = nil, taskID: Int64? = nil, limit: Int = 100, in db: PGConnection
    ) throws -> [Row] {
        try db.query(
            """
            SELECT \(columns) FROM notifications
             WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR task_id = $2)
             ORDER BY id DESC LIMIT $3
            """, [status, taskID, limit]
        ).rows.map(row)
    }
}

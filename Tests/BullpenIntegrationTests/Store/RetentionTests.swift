import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL
import Testing

/// Retention with an injected clock: what each table loses and keeps, and the exactly-once rule (an inbox row
/// with a parked copy of its message stays).
@Suite("Retention")
final class RetentionTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("retention") }
    deinit { database.drop() }

    var db: PGConnection { database.db }
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }

    @Test("each table keeps what its window and its state say; an applied id with a parked copy stays in the inbox")
    func prune() throws {
        // Events: 91 and 89 days old.
        for (label, age) in [("old", 91.0), ("recent", 89.0)] {
            try db.query(
                "INSERT INTO events (type, message, occurred_at) VALUES ('test.event', $1, $2)", [label, daysAgo(age)])
        }
        // Inbox: old, old with a parked copy, recent.
        for (id, age) in [("m-old", 31.0), ("m-parked", 31.0), ("m-recent", 29.0)] {
            try db.query(
                "INSERT INTO inbox (message_id, queue, message_type, processed_at) VALUES ($1, 'review', 't', $2)",
                [id, daysAgo(age)])
        }
        try db.query(
            """
            INSERT INTO dead_letters (queue, message_id, message_type, reason, attempts, headers, body, status, parked_at,
                                      resolved_at)
            VALUES ('review', 'm-parked', 't', 'a copy parked', 1, '{}', '\\x7b7d', 'parked', $1, NULL),
                   ('review', 'm-replayed', 't', 'replayed long ago', 1, '{}', '\\x7b7d', 'replayed', $2, $2),
                   ('review', 'm-replayed-new', 't', 'replayed lately', 1, '{}', '\\x7b7d', 'replayed', $3, $3)
            """, [daysAgo(40), daysAgo(31), daysAgo(2)])
        // Outbox: published long ago, published lately, never published (old).
        for (id, sent, created) in [("o-sent-old", daysAgo(8), daysAgo(8)), ("o-sent-new", daysAgo(1), daysAgo(1))] {
            try db.query(
                """
                INSERT INTO outbox (message_id, queue, message_type, priority, headers, body, created_at, available_at, sent_at)
                VALUES ($1, 'review', 't', 1, '{}', '\\x7b7d', $3, $3, $2)
                """, [id, sent, created])
        }
        try db.query(
            """
            INSERT INTO outbox (message_id, queue, message_type, priority, headers, body, created_at, available_at)
            VALUES ('o-unsent-old', 'review', 't', 1, '{}', '\\x7b7d', $1, $1)
            """, [daysAgo(20)])
        // Notifications: sent long ago, pending long ago, sent lately.
        for (key, status, age) in [
            ("n-sent-old", "sent", 91.0), ("n-pending-old", "pending", 91.0), ("n-sent-new", "sent", 10.0),
        ] {
            try db.query(
                "INSERT INTO notifications (key, kind, channel, status, created_at) VALUES ($1, 'task-failed', 'email', $2, $3)",
                [key, status, daysAgo(age)])
        }
        // Job runs: finished long ago, running long ago, finished lately.
        for (job, status, age) in [("old", "succeeded", 31.0), ("stuck", "running", 31.0), ("new", "failed", 1.0)] {
            try db.query(
                "INSERT INTO cron_runs (job, tick, worker, status) VALUES ($1, $2, 'w', $3)",
                [job, daysAgo(age), status])
        }

        let policy = RetentionPolicy.defaults
        let pruned = try Retention.prune(policy, now: now, on: db)
        let byTable = Dictionary(uniqueKeysWithValues: pruned.map { ($0.table, $0.rows) })
        #expect(byTable[.events] == 1 && byTable[.inbox] == 1 && byTable[.outbox] == 1)
        #expect(byTable[.notifications] == 1 && byTable[.cronRuns] == 1 && byTable[.deadLetters] == 1)

        func strings(_ sql: String) throws -> [String] { try db.query(sql).rows.map { try $0.decode(at: 0) } }
        #expect(try strings("SELECT message FROM events ORDER BY id") == ["recent"])
        #expect(try strings("SELECT message_id FROM inbox ORDER BY message_id") == ["m-parked", "m-recent"])
        #expect(try strings("SELECT message_id FROM outbox ORDER BY message_id") == ["o-sent-new", "o-unsent-old"])
        #expect(try strings("SELECT key FROM notifications ORDER BY key") == ["n-pending-old", "n-sent-new"])
        #expect(try strings("SELECT job FROM cron_runs ORDER BY job") == ["new", "stuck"])
        #expect(
            try strings("SELECT message_id FROM dead_letters ORDER BY message_id") == ["m-parked", "m-replayed-new"])

        // Once the parked copy was replayed (and that long ago), its message's inbox row goes too.
        try db.query(
            "UPDATE dead_letters SET status = 'replayed', resolved_at = $1 WHERE message_id = 'm-parked'", [daysAgo(31)]
        )
        _ = try Retention.prune(policy, now: now, on: db)
        #expect(try strings("SELECT message_id FROM inbox ORDER BY message_id") == ["m-recent"])
    }

    @Test("in batches: a thousand rows in batches of 100 go in eleven statements; a stop between batches ends it")
    func batches() throws {
        try db.query(
            "INSERT INTO events (type, message, occurred_at) SELECT 'test.event', 'e' || g, $1 FROM generate_series(1, 1000) g",
            [daysAgo(100)])
        var policy = RetentionPolicy.defaults
        policy.batchRows = 100
        policy.pauseMilliseconds = 0
        var batches = 0
        let stopped = try Retention.prune(.events, before: daysAgo(90), policy: policy, on: db) {
            batches += 1
            return batches > 3
        }
        #expect(stopped.rows == 300)
        let rest = try Retention.prune(.events, before: daysAgo(90), policy: policy, on: db)
        #expect(rest.rows == 700)
        #expect(try db.query("SELECT count(*)::int FROM events").first!.decode(at: 0, as: Int.self) == 0)
    }
}

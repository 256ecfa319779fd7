import BullpenDomain
import Foundation
import PostgreSQL

/// Prunes what ``RetentionPolicy`` says Bullpen no longer needs, table by table, in small batches: each
/// batch one short statement on its own (no transaction held across batches, rows another session holds are
/// skipped, not waited for), then a pause, so that the workers beside it never wait long.
public enum Retention {
    /// What one table lost.
    public struct Pruned: Sendable, Equatable {
        public var table: RetainedTable
        public var rows: Int
        public var seconds: Double
    }

    /// Prunes every table as of `now`; `until` may stop it early (a shutdown), between batches.
    @discardableResult
    public static func prune(
        _ policy: RetentionPolicy, now: Date, on db: PGConnection, until stop: () -> Bool = { false }
    ) throws -> [Pruned] {
        let cutoffs = policy.cutoffs(now: now)
        return try RetainedTable.allCases.map { table in
            try prune(table, before: cutoffs[table]!, policy: policy, on: db, until: stop)
        }
    }

    /// Prunes one table's rows older than `cutoff`.
    public static func prune(
        _ table: RetainedTable, before cutoff: Date, policy: RetentionPolicy, on db: PGConnection,
        until stop: () -> Bool = { false }
    ) throws -> Pruned {
        let started = ContinuousClock.now
        let name = "retention.\(table.rawValue)"
        db.prepare(name, statement(table))
        var total = 0
        while !stop() {
            let deleted = try db.executePrepared(name, [cutoff, policy.batchRows]).rowsAffected
            total += deleted
            guard deleted == policy.batchRows else { break }
            if policy.pauseMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(policy.pauseMilliseconds) / 1000) }
        }
        let elapsed = ContinuousClock.now - started
        return Pruned(
            table: table, rows: total,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// One batch's statement: `$1` the cutoff, `$2` the batch's size.
    static func statement(_ table: RetainedTable) -> String {
        switch table {
        case .events:
            return """
                DELETE FROM events WHERE id IN (
                    SELECT id FROM events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                """
        case .inbox:
            // Never the id of a message with a parked copy: its replay must still find it applied.
            return """
                DELETE FROM inbox WHERE message_id IN (
                    SELECT i.message_id FROM inbox i
                     WHERE i.processed_at < $1
                       AND NOT EXISTS (SELECT 1 FROM dead_letters d
                                        WHERE d.queue = i.queue AND d.message_id = i.message_id AND d.status = 'parked')
                     ORDER BY i.processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                """
        case .outbox:
            return """
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY id LIMIT $2
                       FOR UPDATE SKIP LOCKED)
                """
        case .notifications:
            return """
                DELETE FROM notifications WHERE id IN (
                    SELECT id FROM notifications WHERE status IN ('sent', 'skipped') AND created_at < $1
                     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
                """
        case .cronRuns:
            return """
                DELETE FROM cron_runs WHERE (job, tick) IN (
                    SELECT job, tick FROM cron_runs WHERE status <> 'running' AND tick < $1 LIMIT $2
                       FOR UPDATE SKIP LOCKED)
                """
        case .deadLetters:
            return """
                DELETE FROM dead_letters WHERE id IN (
                    SELECT d.id FROM dead_letters d
                     WHERE d.status <> 'parked' AND coalesce(d.resolved_at, d.parked_at) < $1
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dead_letter_id = d.id)
                     ORDER BY d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
                """
        case .signInLinks:
            return """
                DELETE FROM sign_in_links WHERE id IN (
                    SELECT id FROM sign_in_links WHERE expires_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
                """
        }
    }
}

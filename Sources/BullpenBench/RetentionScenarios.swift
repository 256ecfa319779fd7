import BullpenDomain
import BullpenStore
import Foundation
import PostgreSQL

/// k. Retention beside the result path: old events to prune, and how long pruning takes while a drain runs.
extension Scenarios {
    /// `rows` events from 100 days ago, in one statement.
    func seedOldEvents(rows: Int, db: PGConnection) throws {
        let started = wallClock()
        try db.query(
            """
            INSERT INTO events (type, message, data, occurred_at)
            SELECT 'bench.old_event', 'An event from long ago, number ' || g, '{"n": 1}', now() - interval '100 days'
              FROM generate_series(1, $1) g
            """, [rows])
        try db.execute("VACUUM ANALYZE events")
        emit(["scenario": "retention-seed", "rows": rows, "seconds": round3(wallClock() - started)])
    }

    /// Prunes the events past the default window, as the retention job does (batches of 2,000, 20 ms apart).
    func pruneEvents(label: [String: Any], db: PGConnection) throws {
        let policy = RetentionPolicy.defaults
        let pruned = try Retention.prune(
            .events, before: Date().addingTimeInterval(-Double(policy.eventsDays) * 86_400), policy: policy, on: db)
        var result = label
        result["scenario"] = "retention"
        result["rows"] = pruned.rows
        result["seconds"] = round3(pruned.seconds)
        result["rows_per_s"] = pruned.seconds > 0 ? round3(Double(pruned.rows) / pruned.seconds) : 0
        emit(result)
    }
}

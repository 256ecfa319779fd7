import BullpenDomain
import Foundation
import PostgreSQL

/// Dispatch waits against the seed's targets: what analytics shows, and the tasks waiting past theirs.
public enum DispatchTargetStore {
    /// Per priority, the attempts opened from `from` to `to`: how many, the median and 90th percentile wait
    /// from request to dispatch (seconds), and how many waited past the band's target; and the tasks waiting
    /// past theirs at `to`. `{"bands": [{priority, label, targetSeconds, dispatched, p50Seconds, p90Seconds,
    /// missed, waitingLate}]}`.
    public static func report(from: Date, to: Date, on db: PGConnection) throws -> String {
        let target = DispatchTargets.sql("a.dispatch_priority")
        let waiting = DispatchTargets.sql("t.dispatch_priority")
        let rows = try db.query(
            """
            WITH waits AS (
                SELECT a.dispatch_priority AS priority,
                       extract(epoch FROM a.opened_at - a.dispatch_requested_at)::float8 AS wait, \(target) AS target
                  FROM task_attempts a
                 WHERE a.opened_at BETWEEN $1 AND $2 AND a.dispatch_requested_at IS NOT NULL
            ), late AS (
                SELECT t.dispatch_priority AS priority, count(*) AS n FROM tasks t
                 WHERE t.status = 'assigned' AND t.dispatch_requested_at IS NOT NULL
                   AND \(waiting) IS NOT NULL AND t.dispatch_requested_at + make_interval(secs => \(waiting)) < $2
                 GROUP BY 1
            )
            SELECT p.priority, count(w.wait)::int AS dispatched,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY w.wait) AS p50,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY w.wait) AS p90,
                   count(*) FILTER (WHERE w.wait > w.target)::int AS missed,
                   coalesce(max(l.n), 0)::int AS waiting_late
              FROM generate_series(1, 5) AS p(priority)
              LEFT JOIN waits w ON w.priority = p.priority
              LEFT JOIN late l ON l.priority = p.priority
             GROUP BY p.priority ORDER BY p.priority DESC
            """, [from, to]
        ).rows
        let bands: [[String: Any]] = try rows.map { row in
            let priority: Int = try row.decode("priority")
            return [
                "priority": priority, "label": DispatchTargets.label(priority: priority),
                "targetSeconds": DispatchTargets.seconds(priority: priority) as Any,
                "dispatched": try row.decode("dispatched", as: Int.self),
                "p50Seconds": try row.decode("p50", as: Double?.self) as Any,
                "p90Seconds": try row.decode("p90", as: Double?.self) as Any,
                "missed": try row.decode("missed", as: Int.self),
                "waitingLate": try row.decode("waiting_late", as: Int.self),
            ].mapValues { ($0 as Any?) ?? NSNull() }
        }
        let data = try JSONSerialization.data(withJSONObject: ["bands": bands], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Tasks waiting for their dispatch past their band's target at `now`: id, title, project, priority and
    /// when asked.
    public static func late(
        now: Date, limit: Int = 200, in tx: PGConnection
    ) throws
        -> [(task: Int64, title: String, projectID: Int64?, priority: Int, requestedAt: Date)]
    {
        let target = DispatchTargets.sql("t.dispatch_priority")
        return try tx.query(
            """
            SELECT t.id, t.title, t.project_id, t.dispatch_priority, t.dispatch_requested_at FROM tasks t
             WHERE t.status = 'assigned' AND t.dispatch_requested_at IS NOT NULL AND \(target) IS NOT NULL
               AND t.dispatch_requested_at + make_interval(secs => \(target)) < $1
             ORDER BY t.dispatch_requested_at LIMIT $2
            """, [now, limit]
        ).rows.map {
            (
                try $0.decode("id"), try $0.decode("title"), try $0.decode("project_id", as: Int64?.self),
                try $0.decode("dispatch_priority"), try $0.decode("dispatch_requested_at")
            )
        }
    }
}

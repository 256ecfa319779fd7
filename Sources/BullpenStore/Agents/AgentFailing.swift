import BullpenDomain
import Foundation
import PostgreSQL

/// Agents whose failure rate passed ``AgentHealth``'s threshold since the last check (marked, so each crossing
/// is found once), and those back under it (unmarked). An agent a result batch holds right now is skipped, and
/// looked at on the next tick: the check never holds the result path up.
public enum AgentFailing {
    public struct Crossing: Sendable, Equatable {
        public var agentID: Int64
        public var name: String
        public var completed: Int
        public var failed: Int
    }

    public static func check(now: Date, in tx: PGConnection) throws -> [Crossing] {
        let rows = try tx.query(
            """
            SELECT id, name, total_tasks_completed, total_tasks_failed, failing_since FROM agents ORDER BY id
               FOR NO KEY UPDATE SKIP LOCKED
            """
        ).rows
        var crossed: [Crossing] = []
        for row in rows {
            let crossing = Crossing(
                agentID: try row.decode("id"), name: try row.decode("name"),
                completed: try row.decode("total_tasks_completed"), failed: try row.decode("total_tasks_failed"))
            let marked = try row.decode("failing_since", as: Date?.self) != nil
            let failing = AgentHealth.failing(completed: crossing.completed, failed: crossing.failed)
            guard failing != marked else { continue }
            try tx.query(
                "UPDATE agents SET failing_since = $2 WHERE id = $1", [crossing.agentID, failing ? now : nil as Date?])
            if failing { crossed.append(crossing) }
        }
        return crossed
    }
}

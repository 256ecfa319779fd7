import BullpenDomain
import Foundation
import PostgreSQL

/// What runs used and cost. A run's cost is what its reported usage costs at its model's price
/// (`model_prices`); a run the gateway reported no usage for, or whose model has no price, costs its agent's
/// rate per completed task (nothing when it did not complete). ``costSQL`` is that rule for the statements
/// that sum it (the weekly rollup, the console's time and cost).
public enum RunUsageStore {
    /// The cost in cents of the attempt `a` run by agent `g`, as SQL.
    public static let costSQL =
        "coalesce(a.cost_cents, CASE WHEN a.outcome = 'completed' THEN g.cost_per_task_cents END, 0)"

    /// Records what the gateway reported run `runID` used, priced: an update of its attempt, the same for
    /// the same report (so a final reply seen twice changes nothing). False for a run Bullpen did not make.
    @discardableResult
    public static func record(runID: String, usage: RunUsage, on db: PGConnection) throws -> Bool {
        guard RunID.parse(runID) != nil else { return false }
        let name = [usage.provider, usage.model].compactMap { $0 }.joined(separator: "/")
        let price = name.isEmpty ? nil : try ModelPriceStore.price(of: name, on: db)
        let usageJSON = String(decoding: try JSONBody.encode(usage), as: UTF8.self)
        return try db.query(
            """
            UPDATE task_attempts SET used_provider = $2, used_model = $3, usage = $4::jsonb, cost_cents = $5
             WHERE run_id = $1
            """, [runID, usage.provider, usage.model, usageJSON, price.map { usage.costCents(at: $0) }]
        ).rowsAffected > 0
    }
}

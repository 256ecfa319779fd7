import BullpenDomain
import PostgreSQL

/// The `plans` table: the catalog a process read from `Config/plans.json`, written at its start so that SQL
/// (project terms, usage, analytics) and every process read the same terms.
public enum PlanStore {
    /// Writes the catalog (idempotent): each plan's row replaced by the file's.
    public static func apply(_ catalog: PlanCatalog, on db: PGConnection) throws {
        try db.transaction { tx in
            for plan in catalog.plans {
                try tx.query(
                    """
                    INSERT INTO plans (id, name, stripe_price_id, mode, amount_cents, currency, billing_interval,
                                       deliverables_included, response_hours, delivery_hours, revision_rounds,
                                       priority, custom_agents)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    ON CONFLICT (id) DO UPDATE SET
                        name = EXCLUDED.name, stripe_price_id = EXCLUDED.stripe_price_id, mode = EXCLUDED.mode,
                        amount_cents = EXCLUDED.amount_cents, currency = EXCLUDED.currency,
                        billing_interval = EXCLUDED.billing_interval,
                        deliverables_included = EXCLUDED.deliverables_included,
                        response_hours = EXCLUDED.response_hours, delivery_hours = EXCLUDED.delivery_hours,
                        revision_rounds = EXCLUDED.revision_rounds, priority = EXCLUDED.priority,
                        custom_agents = EXCLUDED.custom_agents, updated_at = now()
                    WHERE (plans.name, plans.stripe_price_id, plans.mode, plans.amount_cents, plans.currency,
                           plans.billing_interval, plans.deliverables_included, plans.response_hours,
                           plans.delivery_hours, plans.revision_rounds, plans.priority, plans.custom_agents)
                          IS DISTINCT FROM
                          (EXCLUDED.name, EXCLUDED.stripe_price_id, EXCLUDED.mode, EXCLUDED.amount_cents,
                           EXCLUDED.currency, EXCLUDED.billing_interval, EXCLUDED.deliverables_included,
                           EXCLUDED.response_hours, EXCLUDED.delivery_hours, EXCLUDED.revision_rounds,
                           EXCLUDED.priority, EXCLUDED.custom_agents)
                    """,
                    [
                        plan.id.rawValue, plan.name, plan.stripePriceId, plan.mode.rawValue, plan.amountCents,
                        catalog.currency, plan.interval, plan.terms.deliverablesIncluded, plan.terms.responseHours,
                        plan.terms.deliveryHours, plan.terms.maxRevisions, plan.terms.priority, plan.customAgents,
                    ])
            }
        }
    }

    /// One plan's terms, as the table holds them.
    public static func terms(of plan: Plan, in tx: PGConnection) throws -> PlanTerms {
        guard let row = try tx.query("SELECT * FROM plans WHERE id = $1", [plan.rawValue]).first else {
            throw PlanCatalogError(description: "the plans table has no \(plan.rawValue): run `bullpen migrate`")
        }
        return try terms(row)
    }

    static func terms(_ row: PGRow) throws -> PlanTerms {
        PlanTerms(
            responseHours: try row.decode("response_hours"), deliveryHours: try row.decode("delivery_hours"),
            maxRevisions: try row.decode("revision_rounds", as: Int?.self),
            deliverablesIncluded: try row.decode("deliverables_included", as: Int?.self),
            priority: try row.decode("priority"))
    }

    /// The catalog as the table holds it; an error if the plans were never written (`bullpen migrate`
    /// writes them).
    public static func catalog(in tx: PGConnection) throws -> PlanCatalog {
        var plans: [PlanDefinition] = []
        var currency = "usd"
        for row in try tx.query("SELECT * FROM plans ORDER BY priority").rows {
            guard let id = Plan(rawValue: try row.decode("id")),
                let mode = BillingMode(rawValue: try row.decode("mode"))
            else { continue }
            currency = try row.decode("currency")
            plans.append(
                PlanDefinition(
                    id: id, name: try row.decode("name"), stripePriceId: try row.decode("stripe_price_id"),
                    mode: mode, amountCents: try row.decode("amount_cents"),
                    interval: try row.decode("billing_interval", as: String?.self),
                    terms: try terms(row),
                    customAgents: try row.decode("custom_agents")))
        }
        guard Set(plans.map(\.id)) == Set(Plan.allCases) else {
            throw PlanCatalogError(
                description: "the plans table is incomplete: run `bullpen migrate` with Config/plans.json")
        }
        return PlanCatalog(currency: currency, plans: plans)
    }
}

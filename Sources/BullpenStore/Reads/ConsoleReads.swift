import BullpenDomain
import Foundation
import PostgreSQL

/// What the operator console reads beyond the API's rows: a client's account at a glance, and the billing
/// desk. Operators only (the web routes check the role); JSON text, as the read model's other reads.
extension ReadModel {
    /// A client's account: the client, its subscriptions, its SLA record (met, breached, open at risk and on
    /// track, and the compliance of those closed), its projects, its invoices (the last 20) and its history
    /// (the last 30 events about it). Nil when there is no such client.
    public static func clientAccount(_ id: Int64, on db: PGConnection) throws -> String? {
        db.prepare(
            "read.client_account",
            """
            SELECT jsonb_build_object(
                'client', \(clientJSON),
                'subscriptions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', s.id, 'plan', s.plan, 'status', s.status, 'priceCents', s.price_amount_cents,
                        'interval', s.billing_interval, 'periodEnd', s.period_end,
                        'cancelAtPeriodEnd', s.cancel_at_period_end, 'stripeSubscriptionId', s.stripe_subscription_id)
                        ORDER BY s.id DESC), '[]') FROM subscriptions s WHERE s.client_id = c.id),
                'sla', (SELECT jsonb_build_object(
                        'met', count(*) FILTER (WHERE r.status = 'met'),
                        'breached', count(*) FILTER (WHERE r.status = 'breached'),
                        'atRisk', count(*) FILTER (WHERE r.status = 'at_risk'),
                        'onTrack', count(*) FILTER (WHERE r.status = 'on_track'),
                        'compliance', CASE WHEN count(*) FILTER (WHERE r.status IN ('met', 'breached')) > 0
                            THEN (count(*) FILTER (WHERE r.status = 'met'))::float8
                                 / count(*) FILTER (WHERE r.status IN ('met', 'breached')) END)
                        FROM sla_records r WHERE r.client_id = c.id),
                'projects', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', p.id, 'name', p.name, 'status', p.status, 'tier', p.tier, 'createdAt', p.created_at)
                        ORDER BY p.id DESC), '[]') FROM projects p WHERE p.client_id = c.id),
                'invoices', (SELECT coalesce(jsonb_agg(i.item ORDER BY i.id DESC), '[]') FROM (
                        SELECT id, jsonb_build_object('id', id, 'status', status, 'amountCents', amount_cents,
                               'amountDueCents', amount_due_cents, 'currency', currency, 'paidAt', paid_at,
                               'attempts', attempt_count, 'createdAt', created_at) AS item
                          FROM invoices WHERE client_id = c.id ORDER BY id DESC LIMIT 20) i),
                'history', (SELECT coalesce(jsonb_agg(e.item ORDER BY e.id DESC), '[]') FROM (
                        SELECT id, jsonb_build_object('id', id, 'type', type, 'message', message,
                               'occurredAt', occurred_at, 'projectId', project_id) AS item
                          FROM events WHERE client_id = c.id ORDER BY id DESC LIMIT 30) e)
            )::text
              FROM clients c WHERE c.id = $1
            """)
        return try db.executePrepared("read.client_account", [id]).first?.decode(at: 0)
    }

    /// The billing desk on `now`: payments that failed and are still owed (open or uncollectible invoices
    /// tried at least once), subscriptions past due, and renewals in the next `days` days (active
    /// subscriptions whose period ends then, with whether they cancel at its end).
    public static func billingDesk(now: Date, days: Int = 14, on db: PGConnection) throws -> String {
        db.prepare(
            "read.billing_desk",
            """
            SELECT jsonb_build_object(
                'failedPayments', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', i.id, 'clientId', i.client_id, 'client', c.name, 'status', i.status,
                        'amountDueCents', i.amount_due_cents, 'currency', i.currency, 'attempts', i.attempt_count,
                        'createdAt', i.created_at) ORDER BY i.id DESC), '[]')
                      FROM invoices i JOIN clients c ON c.id = i.client_id
                     WHERE i.status IN ('open', 'uncollectible') AND i.attempt_count > 0),
                'pastDue', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', s.id, 'clientId', s.client_id, 'client', c.name, 'plan', s.plan,
                        'priceCents', s.price_amount_cents) ORDER BY s.id), '[]')
                      FROM subscriptions s JOIN clients c ON c.id = s.client_id WHERE s.status = 'past_due'),
                'renewals', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'id', s.id, 'clientId', s.client_id, 'client', c.name, 'plan', s.plan,
                        'priceCents', s.price_amount_cents, 'periodEnd', s.period_end,
                        'cancelAtPeriodEnd', s.cancel_at_period_end) ORDER BY s.period_end, s.id), '[]')
                      FROM subscriptions s JOIN clients c ON c.id = s.client_id
                     WHERE s.status IN ('active', 'trialing') AND s.period_end >= $1
                       AND s.period_end < $1 + make_interval(days => $2::int))
            )::text
            """)
        return try db.executePrepared("read.billing_desk", [now, days]).first!.decode(at: 0)
    }

    /// Per agent, what the agents page adds to the API's row: its average run, its time over the last 7 days
    /// (its time entries), its cost this week (the weekly rollup's), and the Scale clients' custom
    /// configurations of it. `{"<agent id>": {...}}`.
    public static func agentDetails(now: Date, on db: PGConnection) throws -> String {
        try db.query(
            """
            SELECT coalesce(jsonb_object_agg(a.id, jsonb_build_object(
                       'avgCompletionTimeMs', a.avg_completion_time_ms,
                       'timeMsWeek', (SELECT coalesce(sum(e.duration_ms), 0) FROM time_entries e
                                       WHERE e.agent_id = a.id AND e.started_at > $1::timestamptz - interval '7 days'),
                       'weekCostCents', (SELECT r.cost_cents FROM weekly_agent_rollups r
                                          WHERE r.agent_id = a.id ORDER BY r.week_start DESC LIMIT 1),
                       'configs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                       'client', c.name, 'name', g.name, 'model', g.model, 'temperature', g.temperature,
                                       'tools', cardinality(g.tools), 'files', cardinality(g.knowledge_base))
                                       ORDER BY c.name), '[]')
                                     FROM agent_configs g JOIN clients c ON c.id = g.client_id WHERE g.agent_id = a.id))),
                   '{}')::text
              FROM agents a
            """, [now]
        ).first!.decode(at: 0)
    }

    /// Time, cost and margin per client over the 7 days before `now`: its agents' hours and its operators'
    /// (billable ones apart); the agents' cost (each run's reported usage at its model's price, or its agent's
    /// rate, ``RunUsageStore/costSQL``); the week's revenue (a recurring plan's monthly amount × 12 / 52, a
    /// one-time payment made in the week whole) and the margin, revenue less the agents' cost.
    /// `{"clients": [...]}`, the busiest first.
    public static func timeByClient(now: Date, on db: PGConnection) throws -> String {
        try db.query(
            """
            WITH spent AS (
                SELECT p.client_id,
                       sum(e.duration_ms) FILTER (WHERE e.agent_id IS NOT NULL) AS agent_ms,
                       sum(e.duration_ms) FILTER (WHERE e.agent_id IS NULL) AS operator_ms,
                       sum(e.duration_ms) FILTER (WHERE e.billable) AS billable_ms
                  FROM time_entries e JOIN projects p ON p.id = e.project_id
                 WHERE e.started_at > $1::timestamptz - interval '7 days' AND e.started_at <= $1
                 GROUP BY p.client_id
            ), cost AS (
                SELECT p.client_id, sum(\(RunUsageStore.costSQL)) AS cents
                  FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = t.project_id
                  JOIN agents g ON g.id = a.agent_id
                 WHERE a.outcome <> 'superseded' AND a.closed_at > $1::timestamptz - interval '7 days'
                   AND a.closed_at <= $1
                 GROUP BY p.client_id
            ), revenue AS (
                SELECT s.client_id,
                       sum(CASE WHEN s.stripe_payment_intent_id IS NOT NULL THEN s.price_amount_cents
                                WHEN s.billing_interval = 'year' THEN s.price_amount_cents / 52.0
                                ELSE s.price_amount_cents * 12 / 52.0 END) AS cents
                  FROM subscriptions s
                 WHERE CASE WHEN s.stripe_payment_intent_id IS NOT NULL
                            THEN s.created_at > $1::timestamptz - interval '7 days' AND s.created_at <= $1
                            ELSE s.status IN ('active', 'past_due', 'trialing') AND s.created_at <= $1 END
                 GROUP BY s.client_id
            )
            SELECT jsonb_build_object('clients', coalesce(jsonb_agg(jsonb_build_object(
                       'clientId', c.id, 'client', c.name, 'agentMs', coalesce(s.agent_ms, 0),
                       'operatorMs', coalesce(s.operator_ms, 0), 'billableMs', coalesce(s.billable_ms, 0),
                       'agentCostCents', round(coalesce(k.cents, 0), 2),
                       'revenueCents', round(coalesce(r.cents, 0), 2),
                       'marginCents', round(coalesce(r.cents, 0) - coalesce(k.cents, 0), 2))
                       ORDER BY coalesce(s.agent_ms, 0) + coalesce(s.operator_ms, 0) DESC, c.id), '[]'))::text
              FROM clients c LEFT JOIN spent s ON s.client_id = c.id LEFT JOIN cost k ON k.client_id = c.id
                   LEFT JOIN revenue r ON r.client_id = c.id
             WHERE s.client_id IS NOT NULL OR k.client_id IS NOT NULL
            """, [now]
        ).first!.decode(at: 0)
    }
}

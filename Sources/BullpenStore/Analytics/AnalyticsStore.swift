import BullpenDomain
import Foundation
import PostgreSQL

/// The agency's figures, written by two scheduled jobs (each once across the cluster) and read by the
/// operator API:
/// - the daily billing snapshot, per day and plan: active subscriptions (past due counts: still a client),
///   MRR (a subscription's price per month; one-time Sprints add none), revenue (invoices paid that day and
///   one-time payments made that day), new clients, churned subscriptions;
/// - the weekly rollup, per ISO week: deliverables delivered, average turnaround from a work's first dispatch
///   to its delivery, revisions per delivered deliverable, SLAs met and breached, client ratings; and per agent:
///   runs completed and failed, average run time, cost.
/// Writing a day or a week again replaces it, so a job that runs twice (or is run by hand) changes nothing.
public enum AnalyticsStore {
    /// The snapshot of the UTC day that contains `day`.
    public static func snapshot(day: Date, in tx: PGConnection) throws {
        try tx.query(
            """
            WITH bounds AS (
                SELECT date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day_start
            ), b AS (SELECT day_start, day_start + interval '1 day' AS day_end FROM bounds)
            INSERT INTO billing_snapshots (day, plan, active_subscriptions, mrr_cents, revenue_cents, new_clients,
                                           churned_clients)
            SELECT (b.day_start AT TIME ZONE 'UTC')::date, pl.id,
                   (SELECT count(*) FROM subscriptions s
                     WHERE s.plan = pl.id AND s.created_at < b.day_end
                       AND (s.canceled_at IS NULL OR s.canceled_at >= b.day_end) AND s.status <> 'completed'),
                   (SELECT coalesce(sum(CASE s.billing_interval WHEN 'year' THEN s.price_amount_cents / 12
                                                               WHEN 'month' THEN s.price_amount_cents ELSE 0 END), 0)
                      FROM subscriptions s
                     WHERE s.plan = pl.id AND s.created_at < b.day_end
                       AND (s.canceled_at IS NULL OR s.canceled_at >= b.day_end) AND s.status <> 'completed'),
                   (SELECT coalesce(sum(i.amount_cents), 0) FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id
                     WHERE s.plan = pl.id AND i.status = 'paid' AND i.paid_at >= b.day_start AND i.paid_at < b.day_end)
                   + (SELECT coalesce(sum(s.price_amount_cents), 0) FROM subscriptions s
                       WHERE s.plan = pl.id AND s.stripe_payment_intent_id IS NOT NULL
                         AND s.created_at >= b.day_start AND s.created_at < b.day_end),
                   (SELECT count(DISTINCT s.client_id) FROM subscriptions s
                     WHERE s.plan = pl.id AND s.created_at >= b.day_start AND s.created_at < b.day_end
                       AND NOT EXISTS (SELECT 1 FROM subscriptions e WHERE e.client_id = s.client_id
                                        AND e.created_at < b.day_start)),
                   (SELECT count(*) FROM subscriptions s
                     WHERE s.plan = pl.id AND s.canceled_at >= b.day_start AND s.canceled_at < b.day_end)
              FROM plans pl, b
            ON CONFLICT (day, plan) DO UPDATE SET
                active_subscriptions = EXCLUDED.active_subscriptions, mrr_cents = EXCLUDED.mrr_cents,
                revenue_cents = EXCLUDED.revenue_cents, new_clients = EXCLUDED.new_clients,
                churned_clients = EXCLUDED.churned_clients, created_at = now()
            """, [day])
    }

    /// The rollup of the ISO week (Monday to Monday, UTC) that contains `day`: the agency's figures, each
    /// agent's, and each client's cost, revenue and margin.
    public static func rollup(week day: Date, in tx: PGConnection) throws {
        let bounds = """
            WITH b AS (
                SELECT date_trunc('week', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS week_start,
                       (date_trunc('week', $1::timestamptz AT TIME ZONE 'UTC') + interval '7 days') AT TIME ZONE 'UTC'
                           AS week_end
            )
            """
        try tx.query(
            """
            \(bounds), delivered AS (
                SELECT d.*, coalesce(t.parent_task_id, t.id) AS work
                  FROM deliverables d LEFT JOIN tasks t ON t.id = d.task_id, b
                 WHERE d.delivered_at >= b.week_start AND d.delivered_at < b.week_end
            )
            INSERT INTO weekly_rollups (week_start, deliverables_delivered, avg_turnaround_hours,
                                        revisions_per_deliverable, sla_met, sla_breached, avg_rating, ratings)
            SELECT (b.week_start AT TIME ZONE 'UTC')::date,
                   (SELECT count(*) FROM delivered),
                   (SELECT avg(extract(epoch FROM d.delivered_at - f.first_run) / 3600) FROM delivered d
                      JOIN LATERAL (SELECT min(a.opened_at) AS first_run FROM task_attempts a
                                     WHERE a.task_id = d.work) f ON f.first_run IS NOT NULL),
                   (SELECT avg(d.version - 1) FROM delivered d),
                   (SELECT count(*) FROM sla_records r
                     WHERE r.status = 'met' AND r.completed_at >= b.week_start AND r.completed_at < b.week_end),
                   (SELECT count(*) FROM sla_records r
                     WHERE r.status = 'breached' AND r.deadline_at >= b.week_start AND r.deadline_at < b.week_end),
                   (SELECT avg(d.client_rating) FROM delivered d WHERE d.client_rating IS NOT NULL),
                   (SELECT count(d.client_rating) FROM delivered d)
              FROM b
            ON CONFLICT (week_start) DO UPDATE SET
                deliverables_delivered = EXCLUDED.deliverables_delivered,
                avg_turnaround_hours = EXCLUDED.avg_turnaround_hours,
                revisions_per_deliverable = EXCLUDED.revisions_per_deliverable, sla_met = EXCLUDED.sla_met,
                sla_breached = EXCLUDED.sla_breached, avg_rating = EXCLUDED.avg_rating, ratings = EXCLUDED.ratings,
                created_at = now()
            """, [day])
        try tx.query(
            """
            \(bounds)
            INSERT INTO weekly_agent_rollups (week_start, agent_id, completed, failed, avg_duration_ms, cost_cents)
            SELECT (b.week_start AT TIME ZONE 'UTC')::date, a.agent_id,
                   count(*) FILTER (WHERE a.outcome = 'completed'),
                   count(*) FILTER (WHERE a.outcome IN ('failed', 'timeout', 'spawn_failed')),
                   avg(extract(epoch FROM a.closed_at - a.opened_at) * 1000) FILTER (WHERE a.outcome = 'completed'),
                   sum(\(RunUsageStore.costSQL))
              FROM task_attempts a JOIN agents g ON g.id = a.agent_id, b
             WHERE a.closed_at >= b.week_start AND a.closed_at < b.week_end AND a.outcome <> 'superseded'
             GROUP BY b.week_start, a.agent_id
            ON CONFLICT (week_start, agent_id) DO UPDATE SET
                completed = EXCLUDED.completed, failed = EXCLUDED.failed, avg_duration_ms = EXCLUDED.avg_duration_ms,
                cost_cents = EXCLUDED.cost_cents
            """, [day])
        // Per client: its runs closed this week and their cost, what it paid this week (invoices paid, and
        // one-time payments made), so the week's margin. A client with neither is left out.
        try tx.query(
            """
            \(bounds), cost AS (
                SELECT p.client_id, count(*) AS runs, sum(\(RunUsageStore.costSQL)) AS cents
                  FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = t.project_id
                  JOIN agents g ON g.id = a.agent_id, b
                 WHERE a.closed_at >= b.week_start AND a.closed_at < b.week_end AND a.outcome <> 'superseded'
                 GROUP BY p.client_id
            ), paid AS (
                SELECT client_id, sum(cents) AS cents FROM (
                    SELECT i.client_id, i.amount_cents AS cents FROM invoices i, b
                     WHERE i.status = 'paid' AND i.paid_at >= b.week_start AND i.paid_at < b.week_end
                    UNION ALL
                    SELECT s.client_id, s.price_amount_cents FROM subscriptions s, b
                     WHERE s.stripe_payment_intent_id IS NOT NULL AND s.created_at >= b.week_start
                       AND s.created_at < b.week_end
                ) money GROUP BY client_id
            )
            INSERT INTO weekly_client_rollups (week_start, client_id, runs, agent_cost_cents, revenue_cents)
            SELECT (b.week_start AT TIME ZONE 'UTC')::date, coalesce(c.client_id, m.client_id), coalesce(c.runs, 0),
                   coalesce(c.cents, 0), coalesce(m.cents, 0)
              FROM cost c FULL JOIN paid m ON m.client_id = c.client_id, b
            ON CONFLICT (week_start, client_id) DO UPDATE SET
                runs = EXCLUDED.runs, agent_cost_cents = EXCLUDED.agent_cost_cents,
                revenue_cents = EXCLUDED.revenue_cents
            """, [day])
    }

    // MARK: reads, as JSON text

    /// The daily snapshots from `from` to `to` (days, inclusive), per day with each plan's figures and the
    /// day's totals: `{"data": [{"day", "mrrCents", "revenueCents", ..., "plans": {...}}]}`.
    public static func billing(from: Date, to: Date, on db: PGConnection) throws -> String {
        try db.query(
            """
            SELECT jsonb_build_object('data', coalesce(jsonb_agg(d ORDER BY d->>'day'), '[]'))::text AS json FROM (
                SELECT jsonb_build_object(
                    'day', s.day, 'mrrCents', sum(s.mrr_cents), 'revenueCents', sum(s.revenue_cents),
                    'activeSubscriptions', sum(s.active_subscriptions), 'newClients', sum(s.new_clients),
                    'churnedClients', sum(s.churned_clients),
                    'plans', jsonb_object_agg(s.plan, jsonb_build_object(
                        'activeSubscriptions', s.active_subscriptions, 'mrrCents', s.mrr_cents,
                        'revenueCents', s.revenue_cents, 'newClients', s.new_clients,
                        'churnedClients', s.churned_clients))) AS d
                  FROM billing_snapshots s WHERE s.day BETWEEN $1::date AND $2::date GROUP BY s.day
            ) days
            """, [from, to]
        ).first!.decode("json")
    }

    /// The weekly rollups from `from` to `to`, each with its agents.
    public static func weekly(from: Date, to: Date, on db: PGConnection) throws -> String {
        try db.query(
            """
            SELECT jsonb_build_object('data', coalesce(jsonb_agg(jsonb_build_object(
                       'weekStart', w.week_start, 'deliverablesDelivered', w.deliverables_delivered,
                       'avgTurnaroundHours', w.avg_turnaround_hours,
                       'revisionsPerDeliverable', w.revisions_per_deliverable, 'slaMet', w.sla_met,
                       'slaBreached', w.sla_breached,
                       'slaCompliance', CASE WHEN w.sla_met + w.sla_breached > 0
                                             THEN w.sla_met::float8 / (w.sla_met + w.sla_breached) END,
                       'avgRating', w.avg_rating, 'ratings', w.ratings,
                       'agents', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'agentId', r.agent_id, 'name', g.name, 'completed', r.completed,
                                      'failed', r.failed,
                                      'failureRate', CASE WHEN r.completed + r.failed > 0
                                                          THEN r.failed::float8 / (r.completed + r.failed) END,
                                      'avgDurationMs', r.avg_duration_ms, 'costCents', r.cost_cents) ORDER BY r.agent_id)
                                    FROM weekly_agent_rollups r JOIN agents g ON g.id = r.agent_id
                                   WHERE r.week_start = w.week_start), '[]'),
                       'clients', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'clientId', r.client_id, 'name', c.name, 'runs', r.runs,
                                      'agentCostCents', round(r.agent_cost_cents, 2), 'revenueCents', r.revenue_cents,
                                      'marginCents', round(r.revenue_cents - r.agent_cost_cents, 2))
                                      ORDER BY r.client_id)
                                    FROM weekly_client_rollups r JOIN clients c ON c.id = r.client_id
                                   WHERE r.week_start = w.week_start), '[]'))
                   ORDER BY w.week_start), '[]'))::text AS json
              FROM weekly_rollups w WHERE w.week_start BETWEEN $1::date AND $2::date
            """, [from, to]
        ).first!.decode("json")
    }

    /// Invoices, newest last, as the viewer may see them (a client: its own).
    public static func invoices(
        _ page: PageRequest, clientID: Int64?, viewer: Viewer, on db: PGConnection
    ) throws
        -> Page
    {
        try page.page(
            """
            SELECT i.id, jsonb_build_object(
                       'id', i.id, 'clientId', i.client_id, 'subscriptionId', i.subscription_id,
                       'stripeInvoiceId', i.stripe_invoice_id, 'status', i.status, 'amountCents', i.amount_cents,
                       'amountDueCents', i.amount_due_cents, 'currency', i.currency, 'paidAt', i.paid_at,
                       'attempts', i.attempt_count, 'url', i.invoice_url, 'periodStart', i.period_start,
                       'periodEnd', i.period_end, 'plan', s.plan)::text AS item
              FROM invoices i LEFT JOIN subscriptions s ON s.id = i.subscription_id
             WHERE ($1::bigint IS NULL OR i.client_id = $1) AND i.id > $2
               AND ($4::bigint IS NULL OR i.client_id = $4)
             ORDER BY i.id LIMIT $3
            """, name: "read.invoices", viewer: viewer, filters: [clientID], on: db)
    }
}

extension Migration {
    /// Billing: the plans as the processes read them from `Config/plans.json`; each subscription's fields
    /// grouped by the version of the Stripe event that last set them (so events in any order end in one
    /// state), a downgrade waiting for its period; invoices' versions and attempts; and the analytics tables
    /// the daily and weekly jobs write.
    static let v012Billing = Migration(
        version: 12, name: "billing",
        sql: #"""
            CREATE TABLE plans (
                id                     text PRIMARY KEY CHECK (id IN ('sprint', 'pro', 'scale')),
                name                   text NOT NULL,
                stripe_price_id        text NOT NULL UNIQUE,
                mode                   text NOT NULL CHECK (mode IN ('payment', 'subscription')),
                amount_cents           bigint NOT NULL CHECK (amount_cents >= 0),
                currency               text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                billing_interval       text CHECK (billing_interval IN ('month', 'year')),
                deliverables_included  integer CHECK (deliverables_included >= 0),
                response_hours         integer NOT NULL CHECK (response_hours > 0),
                delivery_hours         integer NOT NULL CHECK (delivery_hours > 0),
                revision_rounds        integer CHECK (revision_rounds >= 0),
                priority               integer NOT NULL CHECK (priority BETWEEN 1 AND 5),
                custom_agents          boolean NOT NULL,
                updated_at             timestamptz NOT NULL DEFAULT now()
            );

            ALTER TABLE subscriptions
                ADD COLUMN stripe_customer_id          text,
                ADD COLUMN stripe_checkout_session_id  text UNIQUE,
                ADD COLUMN status_version              text,
                ADD COLUMN details_version             text,
                ADD COLUMN pending_plan                text CHECK (pending_plan IN ('sprint', 'pro', 'scale')),
                ADD COLUMN pending_from                timestamptz,
                ADD COLUMN cancel_at_period_end        boolean NOT NULL DEFAULT false;
            CREATE INDEX subscriptions_customer_idx ON subscriptions (stripe_customer_id);

            ALTER TABLE invoices
                ADD COLUMN version        text,
                ADD COLUMN attempt_count  integer NOT NULL DEFAULT 0,
                ADD COLUMN amount_due_cents bigint NOT NULL DEFAULT 0,
                ADD COLUMN period_start   timestamptz,
                ADD COLUMN period_end     timestamptz;

            -- Usage: each delivered work counts once against the subscription whose period it fell in.
            CREATE TABLE usage_records (
                subscription_id  bigint NOT NULL REFERENCES subscriptions (id),
                work_task_id     bigint NOT NULL REFERENCES tasks (id),
                deliverable_id   bigint NOT NULL REFERENCES deliverables (id),
                period_start     timestamptz NOT NULL,
                created_at       timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (subscription_id, work_task_id)
            );

            -- The daily snapshot: one row per day and plan.
            CREATE TABLE billing_snapshots (
                day                    date NOT NULL,
                plan                   text NOT NULL CHECK (plan IN ('sprint', 'pro', 'scale')),
                active_subscriptions   integer NOT NULL,
                mrr_cents              bigint NOT NULL,
                revenue_cents          bigint NOT NULL,
                new_clients            integer NOT NULL,
                churned_clients        integer NOT NULL,
                created_at             timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (day, plan)
            );

            -- The weekly rollup: one row per ISO week (its Monday).
            CREATE TABLE weekly_rollups (
                week_start                 date PRIMARY KEY,
                deliverables_delivered     integer NOT NULL,
                avg_turnaround_hours       double precision,
                revisions_per_deliverable  double precision,
                sla_met                    integer NOT NULL,
                sla_breached               integer NOT NULL,
                avg_rating                 double precision,
                ratings                    integer NOT NULL,
                created_at                 timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE weekly_agent_rollups (
                week_start        date NOT NULL,
                agent_id          bigint NOT NULL REFERENCES agents (id),
                completed         integer NOT NULL,
                failed            integer NOT NULL,
                avg_duration_ms   double precision,
                cost_cents        bigint NOT NULL,
                PRIMARY KEY (week_start, agent_id)
            );
            """#)
}

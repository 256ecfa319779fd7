extension Migration {
    /// Bullpen's own bookkeeping: the inbox and outbox of the delivery guarantees, parked messages,
    /// operator commands, API tokens, intake leads and the scheduler's ticks.
    /// (schema_migrations is created by the migrator itself, before any migration runs.)
    static let v002SystemTables = Migration(
        version: 2, name: "system tables",
        sql: #"""
            -- Message ids already applied: the second delivery of a message finds its row and changes nothing.
            CREATE TABLE inbox (
                message_id    text PRIMARY KEY CHECK (length(message_id) BETWEEN 1 AND 200),
                queue         text NOT NULL,
                message_type  text,
                processed_at  timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX inbox_processed_idx ON inbox (processed_at);

            -- Messages to publish after the transaction that wrote them commits.
            CREATE TABLE outbox (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                message_id      text NOT NULL UNIQUE,
                exchange        text NOT NULL,
                routing_key     text NOT NULL,
                message_type    text NOT NULL,
                priority        smallint CHECK (priority BETWEEN 0 AND 5),
                correlation_id  text,
                headers         jsonb NOT NULL DEFAULT '{}',
                body            bytea NOT NULL,
                created_at      timestamptz NOT NULL DEFAULT now(),
                available_at    timestamptz NOT NULL DEFAULT now(),
                sent_at         timestamptz,
                attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                last_error      text
            );
            CREATE INDEX outbox_unsent_idx ON outbox (available_at, id) WHERE sent_at IS NULL;

            -- Messages parked in a dead-letter queue, with the reason; operators list, replay and purge them.
            CREATE TABLE dead_letters (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                queue         text NOT NULL,
                message_id    text,
                message_type  text,
                reason        text NOT NULL,
                attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                headers       jsonb NOT NULL DEFAULT '{}',
                body          bytea NOT NULL,
                status        text NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'replayed', 'purged')),
                parked_at     timestamptz NOT NULL DEFAULT now(),
                resolved_at   timestamptz,
                CHECK ((status = 'parked') = (resolved_at IS NULL))
            );
            CREATE INDEX dead_letters_queue_idx ON dead_letters (queue, status, parked_at);
            -- A message parked twice (a crash between parking and the reject) stays one row.
            CREATE UNIQUE INDEX dead_letters_parked_key ON dead_letters (queue, message_id) WHERE status = 'parked';

            -- Operator commands and what became of them.
            CREATE TABLE commands (
                id            text PRIMARY KEY,
                kind          text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
                issued_by     text,
                payload       jsonb NOT NULL DEFAULT '{}',
                status        text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'applied', 'failed', 'rejected')),
                result        jsonb,
                error         text,
                created_at    timestamptz NOT NULL DEFAULT now(),
                completed_at  timestamptz,
                CHECK ((status = 'accepted') = (completed_at IS NULL))
            );
            CREATE INDEX commands_status_idx ON commands (status, created_at);

            -- Operator, client and producer tokens; only a SHA-256 of each is stored.
            CREATE TABLE api_tokens (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name          text NOT NULL,
                token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                role          text NOT NULL CHECK (role IN ('operator', 'client', 'producer')),
                client_id     bigint REFERENCES clients (id),
                scopes        text[] NOT NULL DEFAULT '{}',
                created_at    timestamptz NOT NULL DEFAULT now(),
                last_used_at  timestamptz,
                expires_at    timestamptz,
                revoked_at    timestamptz,
                CHECK ((role = 'client') = (client_id IS NOT NULL))
            );

            -- Briefs from the public intake form, before they become clients and projects.
            CREATE TABLE leads (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                email          text NOT NULL CHECK (email LIKE '%_@_%'),
                company        text,
                brief          text NOT NULL CHECK (length(brief) BETWEEN 1 AND 20000),
                plan_interest  text CHECK (plan_interest IN ('sprint', 'pro', 'scale')),
                source         text,
                status         text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'contacted', 'converted', 'discarded')),
                client_id      bigint REFERENCES clients (id),
                remote_addr    inet,
                dedupe_key     text NOT NULL UNIQUE,
                created_at     timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX leads_status_idx ON leads (status, created_at);
            CREATE INDEX leads_email_idx ON leads (lower(email));

            -- One row per scheduled job and tick: the primary key makes a tick run once across all workers.
            CREATE TABLE cron_runs (
                job          text NOT NULL,
                tick         timestamptz NOT NULL,
                worker       text NOT NULL,
                status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
                started_at   timestamptz NOT NULL DEFAULT now(),
                finished_at  timestamptz,
                error        text,
                PRIMARY KEY (job, tick)
            );
            CREATE INDEX cron_runs_recent_idx ON cron_runs (job, tick DESC);
            """#)
}

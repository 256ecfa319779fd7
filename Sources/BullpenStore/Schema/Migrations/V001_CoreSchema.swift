extension Migration {
    /// The seed plan's section 2 tables (clients ... invoices), with Bullpen's conventions:
    /// snake_case names, bigint identity keys, timestamptz for every time, CHECKs for every status and enum.
    ///
    /// Where the plan keeps a list of ids in an array (`tasks.dependsOn`) the schema uses a join table,
    /// `task_dependencies`, so the references are real foreign keys.
    static let v001CoreSchema = Migration(
        version: 1, name: "core schema",
        sql: #"""
            CREATE TABLE clients (
                id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                email               text NOT NULL CHECK (email LIKE '%_@_%'),
                company             text,
                avatar              text,
                status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'churned')),
                plan                text CHECK (plan IN ('sprint', 'pro', 'scale')),
                channel             text CHECK (channel IN ('portal', 'email', 'slack', 'discord')),
                channel_id          text,
                created_at          timestamptz NOT NULL DEFAULT now(),
                metadata            jsonb NOT NULL DEFAULT '{}',
                clerk_user_id       text,
                stripe_customer_id  text,
                onboarded_at        timestamptz,
                timezone            text,
                slack_channel_id    text,
                discord_channel_id  text
            );
            CREATE UNIQUE INDEX clients_email_key ON clients (lower(email));
            CREATE INDEX clients_status_idx ON clients (status);
            CREATE INDEX clients_created_idx ON clients (created_at);
            CREATE UNIQUE INDEX clients_clerk_user_key ON clients (clerk_user_id) WHERE clerk_user_id IS NOT NULL;
            CREATE UNIQUE INDEX clients_stripe_customer_key ON clients (stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;

            CREATE TABLE subscriptions (
                id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client_id                 bigint NOT NULL REFERENCES clients (id),
                stripe_subscription_id    text UNIQUE,
                stripe_payment_intent_id  text UNIQUE,
                plan                      text NOT NULL CHECK (plan IN ('sprint', 'pro', 'scale')),
                status                    text NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'completed', 'trialing')),
                price_amount_cents        bigint NOT NULL CHECK (price_amount_cents >= 0),
                billing_interval          text CHECK (billing_interval IN ('month', 'year')),
                deliverables_included     integer CHECK (deliverables_included >= 0),
                deliverables_used         integer NOT NULL DEFAULT 0 CHECK (deliverables_used >= 0),
                period_start              timestamptz NOT NULL,
                period_end                timestamptz,
                response_time_hours       integer NOT NULL CHECK (response_time_hours > 0),
                revision_rounds           integer CHECK (revision_rounds >= 0),
                created_at                timestamptz NOT NULL DEFAULT now(),
                canceled_at               timestamptz,
                metadata                  jsonb NOT NULL DEFAULT '{}',
                -- Stripe's `created` of the last event applied, so an older event never overwrites a newer one.
                stripe_event_created_at   timestamptz,
                CHECK (period_end IS NULL OR period_end >= period_start)
            );
            CREATE INDEX subscriptions_client_idx ON subscriptions (client_id);
            CREATE INDEX subscriptions_status_idx ON subscriptions (status);
            CREATE INDEX subscriptions_plan_idx ON subscriptions (plan);

            CREATE TABLE projects (
                id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client_id            bigint NOT NULL REFERENCES clients (id),
                name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                type                 text NOT NULL,
                brief                text,
                status               text NOT NULL DEFAULT 'intake'
                                     CHECK (status IN ('intake', 'active', 'review', 'delivered', 'archived')),
                deadline             timestamptz,
                budget_cents         bigint CHECK (budget_cents >= 0),
                created_at           timestamptz NOT NULL DEFAULT now(),
                delivered_at         timestamptz,
                metadata             jsonb NOT NULL DEFAULT '{}',
                subscription_id      bigint REFERENCES subscriptions (id),
                tier                 text CHECK (tier IN ('sprint', 'pro', 'scale')),
                sla_response_hours   integer CHECK (sla_response_hours > 0),
                sla_delivery_hours   integer CHECK (sla_delivery_hours > 0),
                max_revisions        integer CHECK (max_revisions >= 0),  -- NULL: unlimited
                revision_count       integer NOT NULL DEFAULT 0 CHECK (revision_count >= 0),
                priority             smallint CHECK (priority BETWEEN 1 AND 5),
                tags                 text[] NOT NULL DEFAULT '{}',
                CHECK (status <> 'delivered' OR delivered_at IS NOT NULL)
            );
            CREATE INDEX projects_client_idx ON projects (client_id);
            CREATE INDEX projects_status_idx ON projects (status);
            CREATE INDEX projects_type_idx ON projects (type);
            CREATE INDEX projects_created_idx ON projects (created_at);
            CREATE INDEX projects_subscription_idx ON projects (subscription_id);
            CREATE INDEX projects_tier_idx ON projects (tier);

            CREATE TABLE agents (
                id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name                    text NOT NULL UNIQUE,
                status                  text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline', 'busy')),
                soul                    text,
                avatar                  text,
                model                   text,
                last_seen               timestamptz NOT NULL DEFAULT now(),
                current_task_id         bigint,  -- foreign key added below, after tasks exists
                metadata                jsonb NOT NULL DEFAULT '{}',
                session_key             text UNIQUE,
                channel                 text,
                specialization          text CHECK (specialization IN ('researcher', 'writer', 'coder', 'designer', 'reviewer', 'general')),
                capabilities            text[] NOT NULL DEFAULT '{}'
                                        CHECK (capabilities <@ ARRAY['web_search', 'code_execution', 'image_generation', 'file_access']),
                max_concurrent_tasks    integer NOT NULL DEFAULT 1 CHECK (max_concurrent_tasks >= 1),
                total_tasks_completed   integer NOT NULL DEFAULT 0 CHECK (total_tasks_completed >= 0),
                total_tasks_failed      integer NOT NULL DEFAULT 0 CHECK (total_tasks_failed >= 0),
                avg_completion_time_ms  bigint CHECK (avg_completion_time_ms >= 0),
                failure_rate            double precision NOT NULL DEFAULT 0 CHECK (failure_rate BETWEEN 0 AND 1),
                cost_per_task_cents     integer CHECK (cost_per_task_cents >= 0),
                is_custom               boolean NOT NULL DEFAULT false,
                custom_for_client_id    bigint REFERENCES clients (id),
                CHECK (custom_for_client_id IS NULL OR is_custom)
            );
            CREATE INDEX agents_status_idx ON agents (status);
            CREATE INDEX agents_specialization_idx ON agents (specialization);
            CREATE INDEX agents_custom_client_idx ON agents (custom_for_client_id);

            CREATE TABLE tasks (
                id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                title                    text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
                description              text,
                status                   text NOT NULL DEFAULT 'pending'
                                         CHECK (status IN ('pending', 'assigned', 'running', 'completed', 'failed')),
                project_id               bigint REFERENCES projects (id),
                assigned_agent_id        bigint REFERENCES agents (id),
                priority                 smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
                created_at               timestamptz NOT NULL DEFAULT now(),
                started_at               timestamptz,
                completed_at             timestamptz,
                result                   text,
                error                    text,
                parent_task_id           bigint REFERENCES tasks (id),
                task_type                text CHECK (task_type IN ('research', 'draft', 'code', 'design', 'review', 'revision')),
                required_specialization  text CHECK (required_specialization IN ('researcher', 'writer', 'coder', 'designer', 'reviewer', 'general')),
                estimated_duration_ms    bigint CHECK (estimated_duration_ms >= 0),
                actual_duration_ms       bigint CHECK (actual_duration_ms >= 0),
                retry_count              integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
                max_retries              integer NOT NULL DEFAULT 2 CHECK (max_retries >= 0),
                dispatched_session_key   text,
                artifacts                text[] NOT NULL DEFAULT '{}',
                -- The dispatch attempt now open (0 before the first dispatch); see task_attempts.
                attempt                  integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
                updated_at               timestamptz NOT NULL DEFAULT now(),
                CHECK (parent_task_id IS NULL OR parent_task_id <> id),
                CHECK (status NOT IN ('assigned', 'running') OR assigned_agent_id IS NOT NULL),
                CHECK (status NOT IN ('completed', 'failed') OR completed_at IS NOT NULL)
            );
            CREATE INDEX tasks_status_idx ON tasks (status);
            CREATE INDEX tasks_project_idx ON tasks (project_id);
            CREATE INDEX tasks_agent_idx ON tasks (assigned_agent_id);
            CREATE INDEX tasks_created_idx ON tasks (created_at);
            CREATE INDEX tasks_parent_idx ON tasks (parent_task_id);
            CREATE INDEX tasks_type_idx ON tasks (task_type);
            CREATE INDEX tasks_dispatched_session_idx ON tasks (dispatched_session_key);

            ALTER TABLE agents ADD CONSTRAINT agents_current_task_fkey
                FOREIGN KEY (current_task_id) REFERENCES tasks (id) ON DELETE SET NULL;

            -- tasks.dependsOn of the plan: "run after these complete".
            CREATE TABLE task_dependencies (
                task_id             bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                depends_on_task_id  bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                PRIMARY KEY (task_id, depends_on_task_id),
                CHECK (task_id <> depends_on_task_id)
            );
            CREATE INDEX task_dependencies_reverse_idx ON task_dependencies (depends_on_task_id);

            -- One row per dispatch of a task: the gateway run id and the hash of the per-dispatch callback token.
            CREATE TABLE task_attempts (
                task_id              bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                attempt              integer NOT NULL CHECK (attempt >= 1),
                run_id               text NOT NULL UNIQUE,
                callback_token_hash  bytea NOT NULL UNIQUE CHECK (length(callback_token_hash) = 32),
                agent_id             bigint REFERENCES agents (id),
                session_key          text,
                opened_at            timestamptz NOT NULL DEFAULT now(),
                closed_at            timestamptz,
                outcome              text CHECK (outcome IN ('completed', 'failed', 'timeout', 'spawn_failed', 'superseded')),
                PRIMARY KEY (task_id, attempt),
                CHECK ((closed_at IS NULL) = (outcome IS NULL))
            );

            CREATE TABLE deliverables (
                id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                project_id             bigint NOT NULL REFERENCES projects (id),
                task_id                bigint REFERENCES tasks (id),
                title                  text NOT NULL,
                content                text NOT NULL,
                format                 text NOT NULL CHECK (format IN ('markdown', 'text', 'html', 'json', 'code', 'link', 'file')),
                status                 text NOT NULL DEFAULT 'draft'
                                       CHECK (status IN ('draft', 'review', 'approved', 'delivered', 'rejected')),
                reviewed_by            text,
                review_notes           text,
                created_at             timestamptz NOT NULL DEFAULT now(),
                delivered_at           timestamptz,
                version                integer NOT NULL DEFAULT 1 CHECK (version >= 1),
                previous_version_id    bigint REFERENCES deliverables (id),
                file_ids               text[] NOT NULL DEFAULT '{}',
                source_file_ids        text[] NOT NULL DEFAULT '{}',
                external_url           text,
                client_visible         boolean NOT NULL DEFAULT false,
                client_feedback        text,
                client_rating          smallint CHECK (client_rating BETWEEN 1 AND 5),
                revision_requested_at  timestamptz,
                revision_notes         text,
                CHECK (version = 1 OR previous_version_id IS NOT NULL),
                CHECK (status <> 'delivered' OR delivered_at IS NOT NULL)
            );
            CREATE INDEX deliverables_project_idx ON deliverables (project_id);
            CREATE INDEX deliverables_status_idx ON deliverables (status);
            CREATE INDEX deliverables_task_idx ON deliverables (task_id);
            CREATE INDEX deliverables_version_idx ON deliverables (project_id, version);

            -- The audit log: every state change writes a row here (and a NOTIFY, by the trigger below).
            CREATE TABLE events (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                agent_id        bigint REFERENCES agents (id) ON DELETE SET NULL,
                type            text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
                message         text NOT NULL,
                data            jsonb NOT NULL DEFAULT '{}',
                occurred_at     timestamptz NOT NULL DEFAULT now(),
                client_id       bigint REFERENCES clients (id) ON DELETE SET NULL,
                project_id      bigint REFERENCES projects (id) ON DELETE SET NULL,
                task_id         bigint REFERENCES tasks (id) ON DELETE SET NULL,
                deliverable_id  bigint REFERENCES deliverables (id) ON DELETE SET NULL,
                message_id      text
            );
            CREATE INDEX events_occurred_idx ON events (occurred_at);
            CREATE INDEX events_agent_idx ON events (agent_id);
            CREATE INDEX events_task_idx ON events (task_id);
            CREATE INDEX events_type_idx ON events (type);

            CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('bullpen_events', json_build_object(
                    'id', NEW.id, 'type', NEW.type, 'taskId', NEW.task_id, 'clientId', NEW.client_id)::text);
                RETURN NEW;
            END
            $$;
            CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_notify();

            -- Agent-to-agent messages.
            CREATE TABLE messages (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                from_agent_id  bigint NOT NULL REFERENCES agents (id),
                to_agent_id    bigint NOT NULL REFERENCES agents (id),
                content        text NOT NULL,
                created_at     timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX messages_from_idx ON messages (from_agent_id);
            CREATE INDEX messages_to_idx ON messages (to_agent_id);

            CREATE TABLE client_messages (
                id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client_id            bigint NOT NULL REFERENCES clients (id),
                project_id           bigint REFERENCES projects (id),
                thread_id            text NOT NULL,
                sender               text NOT NULL CHECK (sender IN ('client', 'operator', 'agent', 'system')),
                sender_name          text NOT NULL,
                content              text NOT NULL,
                attachment_ids       text[] NOT NULL DEFAULT '{}',
                channel              text CHECK (channel IN ('portal', 'slack', 'discord', 'email')),
                external_message_id  text,
                read                 boolean NOT NULL DEFAULT false,
                created_at           timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX client_messages_client_idx ON client_messages (client_id);
            CREATE INDEX client_messages_project_idx ON client_messages (project_id);
            CREATE INDEX client_messages_thread_idx ON client_messages (thread_id);
            CREATE INDEX client_messages_created_idx ON client_messages (created_at);
            CREATE UNIQUE INDEX client_messages_external_key ON client_messages (channel, external_message_id)
                WHERE external_message_id IS NOT NULL;

            CREATE TABLE sla_records (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                project_id    bigint NOT NULL REFERENCES projects (id),
                client_id     bigint NOT NULL REFERENCES clients (id),
                type          text NOT NULL CHECK (type IN ('first_response', 'deliverable_due', 'revision_due', 'message_response')),
                status        text NOT NULL DEFAULT 'on_track' CHECK (status IN ('on_track', 'at_risk', 'breached', 'met')),
                deadline_at   timestamptz NOT NULL,
                started_at    timestamptz NOT NULL,
                completed_at  timestamptz,
                target_hours  numeric(8, 2) NOT NULL CHECK (target_hours > 0),
                actual_hours  numeric(8, 2) CHECK (actual_hours >= 0),
                notes         text,
                created_at    timestamptz NOT NULL DEFAULT now(),
                CHECK (deadline_at >= started_at)
            );
            CREATE INDEX sla_records_project_idx ON sla_records (project_id);
            CREATE INDEX sla_records_client_idx ON sla_records (client_id);
            CREATE INDEX sla_records_status_idx ON sla_records (status);
            CREATE INDEX sla_records_deadline_idx ON sla_records (deadline_at);
            CREATE INDEX sla_records_open_idx ON sla_records (deadline_at) WHERE status IN ('on_track', 'at_risk');

            CREATE TABLE time_entries (
                id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                project_id   bigint NOT NULL REFERENCES projects (id),
                task_id      bigint REFERENCES tasks (id),
                agent_id     bigint REFERENCES agents (id),
                operator_id  text,
                type         text NOT NULL CHECK (type IN ('agent_execution', 'operator_review', 'client_meeting', 'admin')),
                duration_ms  bigint NOT NULL CHECK (duration_ms >= 0),
                started_at   timestamptz NOT NULL,
                ended_at     timestamptz NOT NULL,
                description  text,
                billable     boolean NOT NULL DEFAULT true,
                CHECK (ended_at >= started_at)
            );
            CREATE INDEX time_entries_project_idx ON time_entries (project_id);
            CREATE INDEX time_entries_task_idx ON time_entries (task_id);
            CREATE INDEX time_entries_agent_idx ON time_entries (agent_id);
            CREATE INDEX time_entries_started_idx ON time_entries (started_at);

            CREATE TABLE agent_configs (
                id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client_id         bigint NOT NULL REFERENCES clients (id),
                agent_id          bigint NOT NULL REFERENCES agents (id),
                name              text NOT NULL,
                system_prompt     text NOT NULL,
                brand_guidelines  text,
                knowledge_base    text[] NOT NULL DEFAULT '{}',
                model             text,
                temperature       double precision CHECK (temperature BETWEEN 0 AND 2),
                tools             text[] NOT NULL DEFAULT '{}',
                created_at        timestamptz NOT NULL DEFAULT now(),
                updated_at        timestamptz NOT NULL DEFAULT now(),
                UNIQUE (client_id, agent_id)
            );
            CREATE INDEX agent_configs_agent_idx ON agent_configs (agent_id);

            CREATE TABLE invoices (
                id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                client_id          bigint NOT NULL REFERENCES clients (id),
                subscription_id    bigint REFERENCES subscriptions (id),
                stripe_invoice_id  text NOT NULL UNIQUE,
                amount_cents       bigint NOT NULL CHECK (amount_cents >= 0),
                currency           text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
                status             text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
                paid_at            timestamptz,
                due_date           timestamptz,
                invoice_url        text,
                created_at         timestamptz NOT NULL DEFAULT now(),
                CHECK (status <> 'paid' OR paid_at IS NOT NULL)
            );
            CREATE INDEX invoices_client_idx ON invoices (client_id);
            CREATE INDEX invoices_subscription_idx ON invoices (subscription_id);
            CREATE INDEX invoices_status_idx ON invoices (status);
            """#)
}

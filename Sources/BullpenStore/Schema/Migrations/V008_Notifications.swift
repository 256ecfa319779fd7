extension Migration {
    /// Every notification Bullpen sends, written in the transaction of the change that causes it (with its
    /// notify message in the outbox), so none is lost and none is invented by a change rolled back. `key` is
    /// deterministic (what caused it, to whom, on which channel): the same cause twice is one notification.
    /// `recipient` NULL means the operators' address, resolved when it is sent.
    static let v008Notifications = Migration(
        version: 8, name: "notifications",
        sql: #"""
            CREATE TABLE notifications (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                key           text NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 200),
                kind          text NOT NULL,
                channel       text NOT NULL CHECK (channel IN ('email', 'slack', 'discord')),
                recipient     text,
                client_id     bigint REFERENCES clients (id),
                project_id    bigint REFERENCES projects (id),
                task_id       bigint REFERENCES tasks (id),
                data          jsonb NOT NULL DEFAULT '{}',
                status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'parked')),
                provider_id   text,
                attempts      integer NOT NULL DEFAULT 0,
                last_error    text,
                created_at    timestamptz NOT NULL DEFAULT now(),
                sent_at       timestamptz
            );
            CREATE INDEX notifications_status_idx ON notifications (status, created_at);
            CREATE INDEX notifications_task_idx ON notifications (task_id) WHERE task_id IS NOT NULL;
            """#)
}

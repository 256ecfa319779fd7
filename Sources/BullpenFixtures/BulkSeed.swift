import PostgreSQL

/// Many running tasks at once, for benchmarks and fault tests: one client, project and agent, and N
/// running tasks, each with an open attempt whose callback token is `token(i, salt)`.
public enum BulkSeed {
    public static func token(_ index: Int, salt: String) -> String { "bench-\(salt)-\(index)" }

    /// Replaces every task (and what hangs off tasks) with `count` fresh running tasks; returns their ids in order.
    public static func seed(count: Int, salt: String, on db: PGConnection) throws -> [Int64] {
        try db.execute(
            "TRUNCATE inbox, events, task_attempts, deliverables, time_entries, tasks, agents, projects, clients RESTART IDENTITY CASCADE"
        )
        try db.execute("TRUNCATE dead_letters, outbox RESTART IDENTITY")
        let client: Int64 = try db.query(
            "INSERT INTO clients (name, email) VALUES ('Bench', 'bench@example.com') RETURNING id"
        ).first!.decode("id")
        let project: Int64 = try db.query(
            "INSERT INTO projects (client_id, name, type, status) VALUES ($1, 'Bench', 'bench', 'active') RETURNING id",
            [client]
        ).first!.decode("id")
        let agent: Int64 = try db.query("INSERT INTO agents (name, status) VALUES ('bench-agent', 'busy') RETURNING id")
            .first!.decode("id")
        let ids = try db.query(
            """
            INSERT INTO tasks (title, status, project_id, assigned_agent_id, started_at, attempt)
            SELECT 'Bench task ' || g, 'running', $1, $2, now(), 1 FROM generate_series(1, $3) g RETURNING id
            """, [project, agent, count]
        ).rows.map { try $0.decode("id", as: Int64.self) }
        try db.query(
            """
            INSERT INTO task_attempts (task_id, attempt, run_id, callback_token_hash, agent_id)
            SELECT t.id, 1, 'bullpen-' || t.id || '-1', sha256(convert_to('bench-' || $1 || '-' || (t.id - $2), 'UTF8')), $3
              FROM tasks t
            """, [salt, ids.first!, agent])
        try db.execute("VACUUM ANALYZE tasks")
        return ids
    }

    /// Puts every task back to running with its attempt open, and forgets what was applied (the versions,
    /// notifications and time entries the results wrote, and the commands, with the tasks they created), so
    /// that every run starts from the same tables.
    public static func reset(on db: PGConnection) throws {
        try db.execute(
            """
            TRUNCATE inbox, events, dead_letters, outbox, commands, deliverables, deliverable_files, usage_records,
                     notifications, time_entries RESTART IDENTITY
            """)
        try db.execute(
            "DELETE FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id)")
        try db.execute(
            """
            UPDATE tasks SET status = 'running', completed_at = NULL, result = NULL, error = NULL, actual_duration_ms = NULL
             WHERE status <> 'running'
            """)
        try db.execute("UPDATE task_attempts SET closed_at = NULL, outcome = NULL WHERE closed_at IS NOT NULL")
        try db.execute("VACUUM ANALYZE tasks")
        try db.execute("VACUUM ANALYZE task_attempts")
    }
}

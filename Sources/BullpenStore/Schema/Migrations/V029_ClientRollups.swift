extension Migration {
    /// The weekly rollup per client: its agents' runs and their cost (``RunUsageStore/costSQL``), the money it
    /// paid that week, and so the week's margin.
    static let v029ClientRollups = Migration(
        version: 29, name: "client rollups",
        sql: #"""
            CREATE TABLE weekly_client_rollups (
                week_start        date NOT NULL,
                client_id         bigint NOT NULL REFERENCES clients (id),
                runs              integer NOT NULL,
                agent_cost_cents  numeric(14, 4) NOT NULL,
                revenue_cents     bigint NOT NULL,
                PRIMARY KEY (week_start, client_id)
            );
            """#)
}

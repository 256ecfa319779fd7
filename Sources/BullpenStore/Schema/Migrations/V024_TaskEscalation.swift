extension Migration {
    /// Escalation (the seed's 4.4): when a task was raised, and why (a task's SLA raises it once).
    static let v024TaskEscalation = Migration(
        version: 24, name: "task escalation",
        sql: #"""
            ALTER TABLE tasks ADD COLUMN escalated_at timestamptz, ADD COLUMN escalation_reason text;
            """#)
}

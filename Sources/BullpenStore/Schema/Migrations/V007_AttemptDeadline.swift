extension Migration {
    /// When a started run must have ended: its start plus the timeout the gateway was given. An open attempt
    /// past its deadline (and a grace) has been lost (the final reply and the callback both missed): the
    /// heartbeat check fails it, as a run that timed out.
    static let v007AttemptDeadline = Migration(
        version: 7, name: "attempt deadline",
        sql: #"""
            ALTER TABLE task_attempts ADD COLUMN deadline_at timestamptz;
            CREATE INDEX task_attempts_deadline_idx ON task_attempts (deadline_at) WHERE closed_at IS NULL;
            """#)
}

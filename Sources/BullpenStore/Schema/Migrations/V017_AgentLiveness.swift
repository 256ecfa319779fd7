extension Migration {
    /// Agents stay online while the gateway says they are alive (``AgentLiveness``): when the gateway last
    /// listed the agent (`listed_at`), why its status is what it is (`status_reason`), and whose status it is
    /// (`status_set_by`: an operator's offline or paused stands until the operator changes it). `paused`: alive,
    /// taking no new work.
    static let v017AgentLiveness = Migration(
        version: 17, name: "agent liveness",
        sql: #"""
            ALTER TABLE agents DROP CONSTRAINT agents_status_check;
            ALTER TABLE agents ADD CONSTRAINT agents_status_check CHECK (status IN ('online', 'offline', 'busy', 'paused'));
            ALTER TABLE agents ADD COLUMN listed_at timestamptz, ADD COLUMN status_reason text,
                               ADD COLUMN status_set_by text NOT NULL DEFAULT 'liveness'
                                   CHECK (status_set_by IN ('liveness', 'operator'));
            """#)
}

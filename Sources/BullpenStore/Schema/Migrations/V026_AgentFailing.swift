extension Migration {
    /// An agent failing: when the operators were last told that its failure rate passed the threshold (cleared
    /// when it falls back under), so they are told once per time it does.
    static let v026AgentFailing = Migration(
        version: 26, name: "agent failing",
        sql: #"""
            ALTER TABLE agents ADD COLUMN failing_since timestamptz;
            """#)
}

extension Migration {
    /// Dispatch targets (the seed's 4.4): an attempt keeps when its dispatch was asked for and at what priority,
    /// so the wait from request to dispatch can be measured against its band's target.
    static let v025DispatchWaits = Migration(
        version: 25, name: "dispatch waits",
        sql: #"""
            ALTER TABLE task_attempts ADD COLUMN dispatch_requested_at timestamptz, ADD COLUMN dispatch_priority smallint;
            """#)
}

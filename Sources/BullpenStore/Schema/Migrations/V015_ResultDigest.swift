extension Migration {
    /// What an attempt's applied result said, as a SHA-256 of ``TaskResultReport/digestInput`` (its status,
    /// output and error): an agent repeating its result is a replay only if the report is the same; another
    /// report for the same attempt is a conflict, not silently dropped. NULL for attempts settled before.
    static let v015ResultDigest = Migration(
        version: 15, name: "result digest",
        sql: #"""
            ALTER TABLE task_attempts ADD COLUMN report_digest bytea;
            """#)
}

extension Migration {
    /// Cancelling a task cancels the work that depends on it (a dependent would otherwise wait forever); each
    /// dependent cancelled so names the task whose cancellation took it (`cancelled_with`), so that retrying
    /// that task brings them back.
    static let v018CancelledWith = Migration(
        version: 18, name: "cancelled with",
        sql: #"""
            ALTER TABLE tasks ADD COLUMN cancelled_with bigint REFERENCES tasks (id);
            CREATE INDEX tasks_cancelled_with_idx ON tasks (cancelled_with) WHERE cancelled_with IS NOT NULL;
            """#)
}

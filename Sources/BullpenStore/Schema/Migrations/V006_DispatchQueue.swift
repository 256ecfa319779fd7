extension Migration {
    /// A task waiting for its dispatch: asked for at `dispatch_requested_at`, at `dispatch_priority`. It stays
    /// so (status assigned) while its agent is at capacity; when a slot of that agent frees, the waiting task
    /// with the highest priority (then the oldest request) is dispatched next.
    static let v006DispatchQueue = Migration(
        version: 6, name: "dispatch queue",
        sql: #"""
            ALTER TABLE tasks ADD COLUMN dispatch_requested_at timestamptz;
            ALTER TABLE tasks ADD COLUMN dispatch_priority smallint CHECK (dispatch_priority BETWEEN 1 AND 5);
            ALTER TABLE tasks ADD CONSTRAINT tasks_dispatch_request_check
                CHECK ((dispatch_requested_at IS NULL) = (dispatch_priority IS NULL));
            CREATE INDEX tasks_dispatch_waiting_idx ON tasks (assigned_agent_id, dispatch_priority DESC, dispatch_requested_at)
                WHERE dispatch_requested_at IS NOT NULL;
            CREATE INDEX task_attempts_open_idx ON task_attempts (agent_id) WHERE closed_at IS NULL;
            """#)
}

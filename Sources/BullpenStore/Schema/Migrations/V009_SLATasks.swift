extension Migration {
    /// An SLA record names the task whose work it times (a deliverable due: the work's original task; a
    /// revision due: the revision task), so a delivery fulfils exactly its own records, and opening one twice
    /// for the same work (a dispatch asked for again, a redo) is one record. A project has one first-response
    /// record.
    static let v009SLATasks = Migration(
        version: 9, name: "sla records per task",
        sql: #"""
            ALTER TABLE sla_records ADD COLUMN task_id bigint REFERENCES tasks (id);
            CREATE UNIQUE INDEX sla_records_task_type_key ON sla_records (task_id, type) WHERE task_id IS NOT NULL;
            CREATE UNIQUE INDEX sla_records_first_response_key ON sla_records (project_id) WHERE type = 'first_response';
            """#)
}

extension Migration {
    /// What ``ProjectStatusWriter`` asks of a project's work after every batch of results (is any task
    /// pending, started; any version waiting, delivered) answered from an index, not by reading the project's
    /// tasks: a benchmark project of 20,000 tasks made every batch read them all.
    static let v019ProjectWorkIndexes = Migration(
        version: 19, name: "project work indexes",
        sql: #"""
            CREATE INDEX tasks_project_status_idx ON tasks (project_id, status);
            CREATE INDEX deliverables_project_status_idx ON deliverables (project_id, status);
            """#)
}

extension Migration {
    /// The files of a deliverable: each by its content id (the file store's key), with the name, type and
    /// size it was uploaded with. `deliverables.file_ids` keeps the ids, in the order they came.
    static let v011DeliverableFiles = Migration(
        version: 11, name: "deliverable files",
        sql: #"""
            CREATE TABLE deliverable_files (
                deliverable_id  bigint NOT NULL REFERENCES deliverables (id),
                file_id         text NOT NULL CHECK (file_id ~ '^sha256-[0-9a-f]{64}$'),
                name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
                content_type    text NOT NULL,
                size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
                created_at      timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (deliverable_id, file_id)
            );
            CREATE INDEX deliverable_files_file_idx ON deliverable_files (file_id);
            """#)
}

extension Migration {
    /// A client's history in the console: its events, newest first, without reading the whole log.
    static let v022ClientHistory = Migration(
        version: 22, name: "client history",
        sql: #"""
            CREATE INDEX events_client_idx ON events (client_id, id) WHERE client_id IS NOT NULL;
            """#)
}

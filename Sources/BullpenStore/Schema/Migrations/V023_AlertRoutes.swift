extension Migration {
    /// Where operator alerts go, per kind (`Config/alerts.json`, written by `bullpen migrate`); a kind with no
    /// row goes by email.
    static let v023AlertRoutes = Migration(
        version: 23, name: "alert routes",
        sql: #"""
            CREATE TABLE alert_routes (
                kind     text NOT NULL,
                channel  text NOT NULL CHECK (channel IN ('email', 'slack', 'discord')),
                PRIMARY KEY (kind, channel)
            );
            """#)
}

extension Migration {
    /// Wakes the outbox relays as soon as a row is written (they also poll, so a lost NOTIFY costs latency only).
    static let v003OutboxNotify = Migration(
        version: 3, name: "outbox notify",
        sql: #"""
            CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('bullpen_outbox', '');
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
            """#)
}

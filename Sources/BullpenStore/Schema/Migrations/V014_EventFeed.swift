extension Migration {
    /// The live feed in commit order. An event's id is taken when its row is written, so a transaction that
    /// took id 234 can commit after one that took 235, and a reader that moved past 235 would never see 234.
    /// Each event now records the transaction that wrote it (`txid`, an `xid8`: it never wraps), and readers
    /// go in `(txid, id)` order, only below the oldest transaction still in flight
    /// (`pg_snapshot_xmin(pg_current_snapshot())`): every event there is committed (or rolled back) for good,
    /// and no later event can sort before it. Events written before this version all sort first, by id.
    ///
    /// The trigger now notifies once per statement with an empty payload: the feed only needs a wake (it reads
    /// by position), and one NOTIFY per row cost a batch of results a notification per event.
    static let v014EventFeed = Migration(
        version: 14, name: "event feed in commit order",
        sql: #"""
            ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
            ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
            CREATE INDEX events_feed_idx ON events (txid, id);

            DROP TRIGGER events_notify ON events;
            CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('bullpen_events', '');
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
            """#)
}

extension Migration {
    /// Dead letters are replayed through the outbox, in the transaction that marks them replayed: the table is
    /// the record of what is parked, and the broker's dead-letter queues are only the way in.
    ///
    /// A replay republishes the message under its own message id (so the inbox still makes a second delivery
    /// harmless), which an earlier outbox row of the same message may already hold; such rows are keyed by
    /// the dead letter instead, one replay per dead letter. The message's priority is kept for the replay.
    static let v005DeadLetterReplay = Migration(
        version: 5, name: "dead letter replay",
        sql: #"""
            ALTER TABLE dead_letters ADD COLUMN priority smallint CHECK (priority BETWEEN 0 AND 255);
            ALTER TABLE outbox ADD COLUMN dead_letter_id bigint REFERENCES dead_letters (id);
            ALTER TABLE outbox DROP CONSTRAINT outbox_message_id_key;
            CREATE UNIQUE INDEX outbox_message_key ON outbox (message_id) WHERE dead_letter_id IS NULL;
            CREATE UNIQUE INDEX outbox_dead_letter_key ON outbox (dead_letter_id) WHERE dead_letter_id IS NOT NULL;
            """#)
}

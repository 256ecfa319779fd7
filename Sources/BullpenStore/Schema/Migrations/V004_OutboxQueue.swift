extension Migration {
    /// Outbox rows name the work queue of their message type; the relay addresses them on its own topology's
    /// work exchange, so a handler never needs to know the exchange (or the deployment's prefix).
    static let v004OutboxQueue = Migration(
        version: 4, name: "outbox queue",
        sql: #"""
            ALTER TABLE outbox DROP COLUMN exchange;
            ALTER TABLE outbox RENAME COLUMN routing_key TO queue;
            """#)
}

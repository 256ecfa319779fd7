import BullpenDomain
import BullpenMessaging
import BullpenStore
import PostgreSQL

/// An operator alert to the channels its kind's route names (`alert_routes`): every writer writes an alert
/// once, as an email to the operators; the notify worker fans it out the first time it takes it.
enum AlertFanOut {
    /// An operator alert is written once, as an email (every writer writes it so); the first time it is sent,
    /// this writes its copies for the route's other channels (keys ending in the channel, written once) with
    /// their notify messages, in the caller's transaction. Returns whether the email itself is routed (a kind
    /// with no route goes by email).
    static func fanOut(notificationID: Int64, kind: String, priority: Int, in tx: PGConnection) throws -> Bool {
        let channels: [String] = try tx.query("SELECT channel FROM alert_routes WHERE kind = $1", [kind]).rows.map {
            try $0.decode("channel")
        }
        guard !channels.isEmpty else { return true }
        let copies: [Int64] = try tx.query(
            """
            INSERT INTO notifications (key, kind, channel, recipient, client_id, project_id, task_id, data)
            SELECT regexp_replace(n.key, ':email$', ':' || c.channel), n.kind, c.channel, NULL, n.client_id,
                   n.project_id, n.task_id, n.data
              FROM notifications n CROSS JOIN unnest($2::text[]) AS c(channel)
             WHERE n.id = $1 AND n.channel = 'email' AND n.recipient IS NULL AND c.channel <> 'email'
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """, [notificationID, PGArray(channels)]
        ).rows.map { try $0.decode("id") }
        try Outbox.enqueue(all: copies.map { NotificationMessage(notificationId: $0, priority: priority) }, in: tx)
        return channels.contains("email")
    }
}

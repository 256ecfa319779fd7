import BullpenDomain
import PostgreSQL

/// Client rows, as operator commands change them.
public enum ClientStore {
    /// Creates a client; refused when another client has the email.
    public static func create(_ new: NewClient, messageID: String, in tx: PGConnection) throws -> Int64 {
        let id: Int64 = try Refusals.unique(
            byConstraint: uniqueRefusals(new.slackChannelId, discord: new.discordChannelId),
            otherwise: "a client with the email \(new.email) exists already"
        ) {
            try tx.query(
                """
                INSERT INTO clients (name, email, company, plan, channel, timezone, slack_webhook_url,
                                     discord_webhook_url, slack_channel_id, clerk_user_id, discord_channel_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
                """,
                [
                    new.name, new.email, new.company, new.plan?.rawValue, new.channel?.rawValue, new.timezone,
                    new.slackWebhookUrl, new.discordWebhookUrl, new.slackChannelId, new.clerkUserId,
                    new.discordChannelId,
                ]
            ).first!.decode("id")
        }
        try EventLog.record(
            "client.created", "Client \(id) (\(new.name)) created", about: .init(clientID: id), messageID: messageID,
            in: tx)
        return id
    }

    /// The refusals when a Slack or Discord channel or a Clerk user is another client's already.
    static func uniqueRefusals(_ channel: String?, discord: String?) -> [String: String] {
        [
            "clients_slack_channel_key": "another client has the Slack channel \(channel ?? "")",
            "clients_discord_channel_key": "another client has the Discord channel \(discord ?? "")",
            "clients_clerk_user_key": "another client has that Clerk user",
        ]
    }

    /// Changes the fields given; others stay.
    public static func update(_ changes: ClientChanges, messageID: String, in tx: PGConnection) throws {
        let updated = try Refusals.unique(
            byConstraint: uniqueRefusals(changes.slackChannelId, discord: changes.discordChannelId),
            otherwise: "another client has the email \(changes.email ?? "")"
        ) {
            try tx.query(
                """
                UPDATE clients SET name = coalesce($2, name), email = coalesce($3, email),
                       company = coalesce($4, company), plan = coalesce($5, plan), channel = coalesce($6, channel),
                       timezone = coalesce($7, timezone), status = coalesce($8, status),
                       slack_webhook_url = coalesce($9, slack_webhook_url),
                       discord_webhook_url = coalesce($10, discord_webhook_url),
                       slack_channel_id = coalesce($11, slack_channel_id),
                       clerk_user_id = coalesce($12, clerk_user_id),
                       discord_channel_id = coalesce($13, discord_channel_id)
                 WHERE id = $1
                """,
                [
                    changes.id, changes.name, changes.email, changes.company, changes.plan?.rawValue,
                    changes.channel?.rawValue, changes.timezone, changes.status?.rawValue, changes.slackWebhookUrl,
                    changes.discordWebhookUrl, changes.slackChannelId, changes.clerkUserId, changes.discordChannelId,
                ]
            ).rowsAffected
        }
        guard updated == 1 else { throw CommandRejection("there is no client \(changes.id)") }
        try EventLog.record(
            "client.updated", "Client \(changes.id) updated", about: .init(clientID: changes.id), messageID: messageID,
            in: tx)
    }

    /// The client's Stripe customer (its newest subscription's, or the one on its row), for Stripe's Customer
    /// Portal; nil when it never paid through Stripe.
    public static func stripeCustomer(of clientID: Int64, on db: PGConnection) throws -> String? {
        try db.query(
            """
            SELECT coalesce(
                     (SELECT stripe_customer_id FROM subscriptions
                       WHERE client_id = $1 AND stripe_customer_id IS NOT NULL ORDER BY id DESC LIMIT 1),
                     (SELECT stripe_customer_id FROM clients WHERE id = $1)) AS customer
            """, [clientID]
        ).first?.decode("customer", as: String?.self)
    }

    /// The client's email address.
    public static func email(of clientID: Int64, in tx: PGConnection) throws -> String? {
        try tx.query("SELECT email FROM clients WHERE id = $1", [clientID]).first?.decode("email", as: String?.self)
    }

    /// The client's chat webhook for a channel (a credential: read only to send).
    public static func chatHook(clientID: Int64, channel: NotificationChannel, in tx: PGConnection) throws -> String? {
        let column: String
        switch channel {
        case .slack: column = "slack_webhook_url"
        case .discord: column = "discord_webhook_url"
        case .email: return nil
        }
        return try tx.query("SELECT \(column) AS hook FROM clients WHERE id = $1", [clientID]).first?.decode(
            "hook", as: String?.self)
    }

    /// The chat channels a client has a webhook for.
    public static func chatChannels(clientID: Int64, in tx: PGConnection) throws -> [NotificationChannel] {
        guard
            let row = try tx.query(
                """
                SELECT slack_webhook_url IS NOT NULL AS slack, discord_webhook_url IS NOT NULL AS discord
                  FROM clients WHERE id = $1
                """, [clientID]
            ).first
        else { return [] }
        return (try row.decode("slack", as: Bool.self) ? [.slack] : [])
            + (try row.decode("discord", as: Bool.self) ? [.discord] : [])
    }
}

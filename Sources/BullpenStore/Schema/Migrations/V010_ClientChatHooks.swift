extension Migration {
    /// Where a client's chat notifications go: its Slack incoming webhook and its Discord webhook. They are
    /// credentials: the read API shows only whether they are set, and a notification names the client, not
    /// the URL, which the notify worker reads when it sends.
    static let v010ClientChatHooks = Migration(
        version: 10, name: "client chat hooks",
        sql: #"""
            ALTER TABLE clients ADD COLUMN slack_webhook_url text CHECK (slack_webhook_url ~ '^https?://');
            ALTER TABLE clients ADD COLUMN discord_webhook_url text CHECK (discord_webhook_url ~ '^https?://');
            """#)
}

extension Migration {
    /// A client's Slack channel (`clients.slack_channel_id`, in the schema since the first version) is where its
    /// people write to the agency: a message there finds its client by this index, and a channel belongs to
    /// one client.
    static let v013SlackChannels = Migration(
        version: 13, name: "slack channels",
        sql: #"""
            CREATE UNIQUE INDEX clients_slack_channel_key ON clients (slack_channel_id)
                WHERE slack_channel_id IS NOT NULL;
            """#)
}

extension Migration {
    /// A client's Discord channel (`clients.discord_channel_id`, in the schema since the first version) is
    /// where its people's messages come from, as a Slack channel's do: one client per channel.
    static let v028DiscordChannels = Migration(
        version: 28, name: "discord channels",
        sql: #"""
            CREATE UNIQUE INDEX clients_discord_channel_key ON clients (discord_channel_id);
            """#)
}

/// `client.create`: a new client.
public struct NewClient: CommandPayload {
    public static let kind = CommandKind.clientCreate
    public static let route = CommandRoute(.post, "/v1/clients")
    public var name: String
    public var email: String
    public var company: String?
    public var plan: Plan?
    public var channel: ClientChannel?
    public var timezone: String?
    /// The client's Slack incoming webhook and Discord webhook, for its chat notifications.
    public var slackWebhookUrl: String?
    public var discordWebhookUrl: String?
    /// The client's Slack channel (`C0123ABCD`): its people's messages there come onto its project's thread.
    public var slackChannelId: String?
    /// The client's Discord channel (a snowflake), likewise.
    public var discordChannelId: String?
    /// The client's Clerk user (`user_...`): a Clerk session of that user signs in to the portal as this client.
    public var clerkUserId: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, email, company, plan, channel, timezone, slackWebhookUrl, discordWebhookUrl, slackChannelId,
            discordChannelId, clerkUserId
    }

    public func validate() throws(ValidationError) {
        try Check.text(name, "name", length: 1...200)
        try Check.email(email, "email")
        try Check.text(company, "company", length: 1...200)
        try Check.text(timezone, "timezone", length: 1...64)
        try Check.webURL(slackWebhookUrl, "slackWebhookUrl")
        try Check.webURL(discordWebhookUrl, "discordWebhookUrl")
        try Check.slackChannel(slackChannelId, "slackChannelId")
        try Check.discordChannel(discordChannelId, "discordChannelId")
        try Check.clerkUser(clerkUserId, "clerkUserId")
    }
}

/// `client.update`: changes to a client's details; fields left out stay as they are.
public struct ClientChanges: CommandPayload {
    public static let kind = CommandKind.clientUpdate
    public static let route = CommandRoute(.patch, "/v1/clients/:id")
    public var pathID: Int64? { id }
    public var id: Int64
    public var name: String?
    public var email: String?
    public var company: String?
    public var plan: Plan?
    public var channel: ClientChannel?
    public var timezone: String?
    public var status: ClientStatus?
    public var slackWebhookUrl: String?
    public var discordWebhookUrl: String?
    public var slackChannelId: String?
    public var discordChannelId: String?
    public var clerkUserId: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, email, company, plan, channel, timezone, status, slackWebhookUrl, discordWebhookUrl,
            slackChannelId, discordChannelId, clerkUserId
    }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.someChange([
            name, email, company, plan, channel, timezone, status, slackWebhookUrl, discordWebhookUrl, slackChannelId,
            discordChannelId, clerkUserId,
        ])
        try Check.clerkUser(clerkUserId, "clerkUserId")
        try Check.webURL(slackWebhookUrl, "slackWebhookUrl")
        try Check.webURL(discordWebhookUrl, "discordWebhookUrl")
        try Check.slackChannel(slackChannelId, "slackChannelId")
        try Check.discordChannel(discordChannelId, "discordChannelId")
        try Check.text(name, "name", length: 1...200)
        try Check.email(email, "email")
        try Check.text(company, "company", length: 1...200)
        try Check.text(timezone, "timezone", length: 1...64)
    }

    public var references: [Reference] { [Reference(.client, id, field: "id")] }
}

/// Where a client talks to the agency.
public enum ClientChannel: String, Choice {
    case portal, email, slack, discord
}

public enum ClientStatus: String, Choice {
    case active, inactive, churned
}

/// `chat.discord-message` (command queue): a person's message in a client's Discord channel, as the worker's
/// Discord connection received it. Discord's message id is its identity, so a message replayed by a resumed
/// session is one message.
public struct DiscordMessageReceived: BullpenMessage, Equatable {
    public static let name = "chat.discord-message"
    public static let queue = WorkQueue.command
    public static let schemaVersion = 1

    public var schema: Int
    public var messageId: String
    public var channelId: String
    public var guildId: String?
    public var authorId: String
    public var authorName: String
    public var text: String

    public var messageID: String { "discord:\(messageId)" }
    public var priority: Int? { 4 }

    public init(
        messageId: String, channelId: String, guildId: String?, authorId: String, authorName: String, text: String
    ) {
        schema = Self.schemaVersion
        self.messageId = messageId
        self.channelId = channelId
        self.guildId = guildId
        self.authorId = authorId
        self.authorName = authorName
        self.text = String(text.prefix(SlackMessageReceived.maxTextLength))
    }
}

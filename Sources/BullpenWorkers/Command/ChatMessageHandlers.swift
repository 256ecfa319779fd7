import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// `chat.slack-message` and `chat.discord-message` (command queue): a person's message in a client's Slack or
/// Discord channel goes on the thread of the client's current project as the client's
/// (``ClientThread/postFromChat(_:messageID:now:in:)``), opens the message-response SLA and alerts the
/// operators, as a message written in the portal does. A message in a channel no client has, or from a client
/// with no open project, is kept in the event log (`slack.unmatched`, `discord.unmatched`, with the channel
/// and the text's start) for the operators to link the channel, not parked: Bullpen's bot may sit in channels
/// that are not clients'.
struct ChatMessagePosting {
    let clock: @Sendable () -> Date

    func post(_ message: ClientThread.ChatMessage, messageID: String, in tx: PGConnection) throws -> HandlerResult {
        let unmatched: (String, Int64?)
        let label = message.channel == .discord ? "Discord" : "Slack"
        switch try ClientThread.postFromChat(message, messageID: messageID, now: clock(), in: tx) {
        case .posted(let posted):
            try ProjectMessage.told(posted, body: message.text, fromClient: true, in: tx)
            return .applied
        case .alreadyPosted:
            return .duplicate
        case .unknownChannel:
            unmatched = ("no client has \(label) channel \(message.channelID)", nil)
        case .noProject(let clientID):
            unmatched = ("client \(clientID) (\(label) channel \(message.channelID)) has no open project", clientID)
        }
        let data = try JSONBody.encode(["channel": message.channelID, "text": String(message.text.prefix(200))])
        try EventLog.record(
            "\(message.channel.rawValue).unmatched", "a \(label) message was not posted: \(unmatched.0)",
            data: String(decoding: data, as: UTF8.self), about: .init(clientID: unmatched.1),
            messageID: messageID, in: tx)
        return .applied
    }
}

/// A message from a client's chat channel, as the thread takes it.
public protocol ChatChannelMessage: BullpenMessage {
    var chat: ClientThread.ChatMessage { get }
}

extension SlackMessageReceived: ChatChannelMessage {
    public var chat: ClientThread.ChatMessage { ClientThread.chat(self) }
}

extension DiscordMessageReceived: ChatChannelMessage {
    public var chat: ClientThread.ChatMessage { ClientThread.chat(self) }
}

/// The handler of one chat channel's messages (Slack's, Discord's).
public struct ChatMessageHandler<Message: ChatChannelMessage>: MessageHandler {
    let posting: ChatMessagePosting

    public init(clock: @escaping @Sendable () -> Date = Date.init) { posting = ChatMessagePosting(clock: clock) }

    public func handle(_ message: Message, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        try posting.post(message.chat, messageID: inbound.messageID, in: tx)
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// `chat.slack-message` (command queue): a person's message in a client's Slack channel goes on the thread of
/// the client's current project as the client's (``ClientThread/postFromSlack(_:messageID:now:in:)``), opens
/// the message-response SLA and alerts the operators, as a message written in the portal does. A message in a
/// channel no client has, or from a client with no open project, is kept in the event log (`slack.unmatched`,
/// with the channel and the text's start) for the operators to link the channel, not parked: Bullpen's Slack
/// app may sit in channels that are not clients'.
public struct SlackMessageHandler: MessageHandler {
    public typealias Message = SlackMessageReceived

    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    public func handle(
        _ message: SlackMessageReceived, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        let unmatched: (String, Int64?)
        switch try ClientThread.postFromSlack(message, messageID: inbound.messageID, now: clock(), in: tx) {
        case .posted(let posted):
            try ProjectMessage.told(posted, body: message.text, fromClient: true, in: tx)
            return .applied
        case .alreadyPosted:
            return .duplicate
        case .unknownChannel:
            unmatched = ("no client has Slack channel \(message.channel)", nil)
        case .noProject(let clientID):
            unmatched = ("client \(clientID) (Slack channel \(message.channel)) has no open project", clientID)
        }
        let data = try JSONBody.encode(["channel": message.channel, "text": String(message.text.prefix(200))])
        try EventLog.record(
            "slack.unmatched", "a Slack message was not posted: \(unmatched.0)",
            data: String(decoding: data, as: UTF8.self), about: .init(clientID: unmatched.1),
            messageID: inbound.messageID, in: tx)
        return .applied
    }
}

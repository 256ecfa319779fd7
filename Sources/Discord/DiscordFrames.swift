import Foundation

/// Discord Gateway's opcodes (API v10), the ones a bot that only listens needs.
public enum DiscordOpcode: Int, Sendable {
    case dispatch = 0
    case heartbeat = 1
    case identify = 2
    case resume = 6
    case reconnect = 7
    case invalidSession = 9
    case hello = 10
    case heartbeatAck = 11
}

/// One Gateway payload: `{"op", "d", "s", "t"}` (`s` and `t` on dispatches only).
public struct DiscordFrame: @unchecked Sendable {
    public var op: Int
    /// The payload's data, as JSONSerialization reads it (an object, a number, a bool or null).
    public var d: Any?
    public var s: Int?
    public var t: String?

    public init(op: Int, d: Any? = nil, s: Int? = nil, t: String? = nil) {
        self.op = op
        self.d = d
        self.s = s
        self.t = t
    }

    public init(_ op: DiscordOpcode, d: Any? = nil, s: Int? = nil, t: String? = nil) {
        self.init(op: op.rawValue, d: d, s: s, t: t)
    }

    public var opcode: DiscordOpcode? { DiscordOpcode(rawValue: op) }
    public var object: [String: Any]? { d as? [String: Any] }

    /// Reads a text frame; nil for one that is not a Gateway payload.
    public static func parse(_ text: String) -> DiscordFrame? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let op = (object["op"] as? NSNumber)?.intValue
        else { return nil }
        let data = object["d"].flatMap { $0 is NSNull ? nil : $0 }
        return DiscordFrame(
            op: op, d: data, s: (object["s"] as? NSNumber)?.intValue, t: object["t"] as? String)
    }

    /// The frame as the Gateway's JSON text (`d` null when absent).
    public var text: String {
        var object: [String: Any] = ["op": op, "d": d ?? NSNull()]
        if let s { object["s"] = s }
        if let t { object["t"] = t }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// A message posted in a channel (`MESSAGE_CREATE`), what Bullpen keeps of it.
public struct DiscordMessage: Sendable, Equatable {
    public var id: String
    public var channelID: String
    public var guildID: String?
    public var authorID: String
    public var authorName: String
    public var authorIsBot: Bool
    public var content: String

    public init(
        id: String, channelID: String, guildID: String?, authorID: String, authorName: String, authorIsBot: Bool,
        content: String
    ) {
        self.id = id
        self.channelID = channelID
        self.guildID = guildID
        self.authorID = authorID
        self.authorName = authorName
        self.authorIsBot = authorIsBot
        self.content = content
    }

    /// A `MESSAGE_CREATE` dispatch's data; nil when it lacks the fields every message has.
    public init?(_ data: [String: Any]) {
        guard let id = data["id"] as? String, let channel = data["channel_id"] as? String,
            let author = data["author"] as? [String: Any], let authorID = author["id"] as? String
        else { return nil }
        self.init(
            id: id, channelID: channel, guildID: data["guild_id"] as? String, authorID: authorID,
            authorName: (author["global_name"] as? String) ?? (author["username"] as? String) ?? authorID,
            authorIsBot: (author["bot"] as? Bool) ?? false, content: (data["content"] as? String) ?? "")
    }
}

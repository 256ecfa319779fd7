import Foundation

/// A lifecycle event from the gateway's hook (`POST /webhooks/agents/event`): `{type, action, sessionKey?,
/// timestamp?, context?}`. The pairs the hook sends: command:new, command:reset, command:stop,
/// agent:bootstrap, gateway:startup. `context.cfg` (the gateway's whole configuration) is dropped on
/// reading, before anything is stored or published.
public struct AgentLifecycleEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case commandNew = "command:new"
        case commandReset = "command:reset"
        case commandStop = "command:stop"
        case agentBootstrap = "agent:bootstrap"
        case gatewayStartup = "gateway:startup"
    }

    public var kind: Kind
    public var sessionKey: String?
    /// The context without `cfg`, as JSON text; nil when none came.
    public var contextJSON: String?

    /// The agent a session key names: `agent:<name>:...`.
    public var agentName: String? {
        guard let sessionKey else { return nil }
        let parts = sessionKey.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "agent", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// What the event says of the agent: a session starting (new, reset) or the agent booting means it is
    /// alive and online; a session stopping means it was seen; the gateway starting names no agent.
    public var marksOnline: Bool { [.commandNew, .commandReset, .agentBootstrap].contains(kind) }

    /// Reads and checks a hook body; unknown fields are refused, each error naming its field.
    public static func parse(_ body: [UInt8]) throws(ValidationError) -> AgentLifecycleEvent {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw ValidationError(field: "", message: "the body must be a JSON object")
        }
        let allowed: Set<String> = ["type", "action", "sessionKey", "timestamp", "context"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ValidationError(field: unknown, message: "is not a field of this request")
        }
        guard let type = object["type"] as? String else {
            throw ValidationError(field: "type", message: "is required (command, agent or gateway)")
        }
        guard let action = object["action"] as? String else {
            throw ValidationError(field: "action", message: "is required")
        }
        guard let kind = Kind(rawValue: "\(type):\(action)") else {
            throw ValidationError(
                field: "action",
                message: "\(type):\(action) is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var sessionKey: String?
        if let value = object["sessionKey"], !(value is NSNull) {
            guard let key = value as? String, (1...300).contains(key.count) else {
                throw ValidationError(field: "sessionKey", message: "must be a string of 1 to 300 characters")
            }
            sessionKey = key
        }
        var contextJSON: String?
        if let value = object["context"], !(value is NSNull) {
            guard var context = value as? [String: Any] else {
                throw ValidationError(field: "context", message: "must be an object")
            }
            context.removeValue(forKey: "cfg")
            let data = (try? JSONSerialization.data(withJSONObject: context, options: [.sortedKeys])) ?? Data("{}".utf8)
            contextJSON = String(decoding: data, as: UTF8.self)
        }
        return AgentLifecycleEvent(kind: kind, sessionKey: sessionKey, contextJSON: contextJSON)
    }
}

/// A lifecycle event on its way to the worker (dispatch queue, next to the runs it concerns).
public struct AgentLifecycleMessage: BullpenMessage, Equatable {
    public static let name = "agent.lifecycle"
    public static let queue = WorkQueue.dispatch
    public static let schemaVersion = 1

    public var schema: Int
    /// Ingest's id for the event: the hex SHA-256 of the signed body, so a hook delivered twice is one event.
    public var eventId: String
    public var kind: String
    public var sessionKey: String?
    public var context: String?
    /// When the signature was made (unix seconds).
    public var signedAt: Int

    public init(eventId: String, event: AgentLifecycleEvent, signedAt: Int) {
        schema = Self.schemaVersion
        self.eventId = eventId
        kind = event.kind.rawValue
        sessionKey = event.sessionKey
        context = event.contextJSON
        self.signedAt = signedAt
    }

    public var messageID: String { "agent-event:\(eventId)" }
    public var priority: Int? { 4 }

    public var event: AgentLifecycleEvent? {
        AgentLifecycleEvent.Kind(rawValue: kind).map {
            AgentLifecycleEvent(kind: $0, sessionKey: sessionKey, contextJSON: context)
        }
    }
}

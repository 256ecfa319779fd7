import Foundation

/// `task.message`: an operator's message to the agent running a task, sent into the run's session on the
/// gateway (`chat.send`). Only a running task's session takes one.
public struct TaskAgentMessage: CommandPayload {
    public static let kind = CommandKind.taskMessage
    public static let route = CommandRoute(.post, "/v1/tasks/:id/messages")
    public var pathID: Int64? { id }
    public var id: Int64
    public var message: String

    public init(id: Int64, message: String) {
        self.id = id
        self.message = message
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, message }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(message, "message", length: 1...20_000)
    }

    public var references: [Reference] { [Reference(.task, id, field: "id")] }
}

/// `task.abort`: an operator stops a running task's run: the task fails at once with the reason (not retried,
/// no alert: the operators know), and the run is aborted on the gateway (`chat.abort`).
public struct TaskAbort: CommandPayload {
    public static let kind = CommandKind.taskAbort
    public static let route = CommandRoute(.post, "/v1/tasks/:id/abort")
    public var pathID: Int64? { id }
    public var id: Int64
    public var reason: String?

    public init(id: Int64, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, reason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(reason, "reason", length: 1...500)
    }

    public var references: [Reference] { [Reference(.task, id, field: "id")] }
}

/// Something for a running task's session on the gateway (dispatch queue, where the gateway connection is):
/// an operator's message (`chat.send`) or the run's abort (`chat.abort`). Sent by the `task.message` and
/// `task.abort` commands through the outbox; retried through the queue's tiers while the gateway is away,
/// parked with the gateway's reason when it refuses.
public struct SessionRequest: BullpenMessage, Equatable {
    public static let name = "task.session"
    public static let queue = WorkQueue.dispatch
    public static let schemaVersion = 1

    public enum Action: String, Codable, Sendable {
        case send, abort
    }

    public var schema: Int
    public var action: Action
    public var taskId: Int64
    public var attempt: Int
    public var sessionKey: String
    /// The operator's message (send only).
    public var text: String?
    /// Names this request to the gateway: the idempotency key of a send is `bullpen-chat-<ref>`, and its
    /// text names the ref, so a resend after the gateway forgot its keys (a restart) finds it in the
    /// session's transcript and is not sent twice.
    public var ref: String

    public init(action: Action, taskId: Int64, attempt: Int, sessionKey: String, text: String? = nil, ref: String) {
        schema = Self.schemaVersion
        self.action = action
        self.taskId = taskId
        self.attempt = attempt
        self.sessionKey = sessionKey
        self.text = text
        self.ref = ref
    }

    public var runID: String { RunID.make(taskId: taskId, attempt: attempt) }
    public var messageID: String { "session:\(action.rawValue):\(ref)" }
    /// An operator is waiting: ahead of run starts.
    public var priority: Int? { 5 }

    /// The text the session gets: the operator's message, headed by its ref.
    public var sentText: String { "Message from the operator (ref \(ref)):\n\(text ?? "")" }
    public var idempotencyKey: String { "bullpen-chat-\(ref)" }
}

/// A notification to write, as a decider or a handler decides it: what caused it (the key), what it says and to
/// whom. Written with the change that causes it, in the same transaction.
public struct NotificationDraft: Sendable, Equatable {
    /// Deterministic: what caused it, to whom, on which channel (`task-failed:42:3:email`).
    public var key: String
    public var kind: NotificationKind
    public var channel: NotificationChannel
    /// An address or webhook URL; nil for the operators' (resolved when sent).
    public var recipient: String?
    public var clientID: Int64?
    public var projectID: Int64?
    public var taskID: Int64?
    /// The template's values.
    public var data: [String: String]

    public init(
        key: String, kind: NotificationKind, channel: NotificationChannel, recipient: String? = nil,
        clientID: Int64? = nil, projectID: Int64? = nil, taskID: Int64? = nil, data: [String: String]
    ) {
        self.key = key
        self.kind = kind
        self.channel = channel
        self.recipient = recipient
        self.clientID = clientID
        self.projectID = projectID
        self.taskID = taskID
        self.data = data
    }

    /// The longest a template value may be; longer values are cut.
    public static let maxValueLength = 500

    /// An email keyed by `cause` (the same cause twice is one email), to `recipient`, or to the operators when
    /// nil; values cut at ``maxValueLength`` characters.
    public static func email(
        _ kind: NotificationKind, cause: String, to recipient: String?, clientID: Int64? = nil, projectID: Int64?,
        taskID: Int64? = nil, data: [String: String]
    ) -> NotificationDraft {
        .init(
            key: "\(kind.rawValue):\(cause):email", kind: kind, channel: .email, recipient: recipient,
            clientID: clientID, projectID: projectID, taskID: taskID,
            data: data.mapValues { String($0.prefix(maxValueLength)) })
    }

    /// An alert to the operators about a task, by email (to the configured operators' address), keyed by
    /// `cause`: the same cause twice is one alert.
    public static func operatorAlert(
        _ kind: NotificationKind, cause: String, taskID: Int64?, projectID: Int64?, data: [String: String]
    ) -> NotificationDraft {
        email(kind, cause: cause, to: nil, projectID: projectID, taskID: taskID, data: data)
    }
}

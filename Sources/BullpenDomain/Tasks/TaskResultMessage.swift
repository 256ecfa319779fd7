/// The review queue's message for a task result: the agent's report plus the attempt it belongs to.
public struct TaskResultMessage: BullpenMessage, Equatable {
    public static let name = "task.result"
    public static let queue = WorkQueue.review
    public static let schemaVersion = 1

    public var schema: Int
    public var taskId: Int64
    public var attempt: Int
    public var status: TaskResultReport.Outcome
    public var output: String?
    public var error: String?
    /// The files the agent made (absent from results that have none, and from messages written before).
    public var artifacts: [TaskResultReport.Artifact]?
    /// When ingest accepted the report (ms since the epoch).
    public var receivedAt: Int64
    /// The task's priority (1...5), so a result waits no longer than its task would.
    public var priority: Int?
    /// An operator aborted the run (`task.abort`): the failure is final (no retry) and raises no alert.
    public var aborted: Bool?

    public init(report: TaskResultReport, attempt: Int, receivedAt: Int64, priority: Int? = nil) {
        schema = Self.schemaVersion
        taskId = report.taskId
        self.attempt = attempt
        status = report.status
        output = report.output
        error = report.error
        artifacts = report.artifacts
        self.receivedAt = receivedAt
        self.priority = priority
    }

    /// Deterministic per task attempt, so a result reported twice is applied once.
    public var messageID: String { Self.messageID(taskId: taskId, attempt: attempt) }

    public static func messageID(taskId: Int64, attempt: Int) -> String { "task-result:\(taskId):\(attempt)" }
}

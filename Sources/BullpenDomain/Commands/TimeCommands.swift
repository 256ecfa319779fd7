import Foundation

/// The kinds of time an operator records by hand (an agent's time is recorded by its runs).
public enum OperatorTimeType: String, Choice {
    case operatorReview = "operator_review"
    case clientMeeting = "client_meeting"
    case admin
}

/// `time.add`: an operator's own time on a project (reviewing, meeting the client, admin), counted with the
/// agents' in analytics.
public struct TimeEntryNew: CommandPayload {
    public static let kind = CommandKind.timeAdd
    public static let route = CommandRoute(.post, "/v1/time-entries")
    public var projectId: Int64
    public var taskId: Int64?
    public var minutes: Int
    public var type: OperatorTimeType
    public var description: String?
    public var billable: Bool?
    /// When it started; default: `minutes` before the command is applied.
    public var startedAt: Timestamp?

    public init(
        projectId: Int64, taskId: Int64? = nil, minutes: Int, type: OperatorTimeType, description: String? = nil,
        billable: Bool? = nil, startedAt: Timestamp? = nil
    ) {
        self.projectId = projectId
        self.taskId = taskId
        self.minutes = minutes
        self.type = type
        self.description = description
        self.billable = billable
        self.startedAt = startedAt
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case projectId, taskId, minutes, type, description, billable, startedAt
    }

    public func validate() throws(ValidationError) {
        try Check.positive(projectId, "projectId")
        if let taskId { try Check.positive(taskId, "taskId") }
        try Check.range(minutes, "minutes", 1...1440)
        try Check.text(description, "description", length: 1...1000)
    }

    public var references: [Reference] {
        [Reference(.project, projectId, field: "projectId")]
            + (taskId.map { [Reference(.task, $0, field: "taskId")] } ?? [])
    }
}

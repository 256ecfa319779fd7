/// `task.create`: a task of a project. Its priority is the override given, or else the default for its
/// project's plan and its type (``TaskPriority``). `dependsOn` names tasks of the same project that must
/// complete first.
public struct NewTask: CommandPayload {
    public static let kind = CommandKind.taskCreate
    public var projectId: Int64
    public var title: String
    public var description: String?
    public var taskType: TaskType?
    public var requiredSpecialization: Specialization?
    public var priority: Int?
    public var estimatedDurationMs: Int64?
    public var dependsOn: [Int64]?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case projectId, title, description, taskType, requiredSpecialization, priority, estimatedDurationMs, dependsOn
    }

    public func validate() throws(ValidationError) {
        try Check.positive(projectId, "projectId")
        try Check.text(title, "title", length: 1...300)
        try Check.text(description, "description", length: 0...50_000)
        try Check.range(priority, "priority", 1...5)
        try Check.range(estimatedDurationMs, "estimatedDurationMs", 0...(30 * 24 * 3_600_000))
        let dependencies = dependsOn ?? []
        try Check.range(dependencies.count, "dependsOn", 0...100)
        for (index, id) in dependencies.enumerated() { try Check.positive(id, "dependsOn[\(index)]") }
        guard Set(dependencies).count == dependencies.count else {
            throw ValidationError(field: "dependsOn", message: "must not name a task twice")
        }
    }

    public var references: [Reference] {
        [Reference(.project, projectId, field: "projectId")]
            + (dependsOn ?? []).enumerated().map { Reference(.task, $1, field: "dependsOn[\($0)]") }
    }
}

/// `task.assign`: gives a pending task to an agent.
public struct TaskAssignment: CommandPayload {
    public static let kind = CommandKind.taskAssign
    public var id: Int64
    public var agentId: Int64

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, agentId }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.positive(agentId, "agentId")
    }

    public var references: [Reference] {
        [Reference(.task, id, field: "id"), Reference(.agent, agentId, field: "agentId")]
    }
}

/// `task.cancel`: a task that has not started yet will not run (it fails with the reason).
public struct TaskCancellation: CommandPayload {
    public static let kind = CommandKind.taskCancel
    public var id: Int64
    public var reason: String?

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, reason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(reason, "reason", length: 1...500)
    }

    public var references: [Reference] { [Reference(.task, id, field: "id")] }
}

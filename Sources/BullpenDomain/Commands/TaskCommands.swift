/// `task.create`: a task of a project. Its priority is the override given, or else the default for its
/// project's plan and its type (``TaskPriority``). `dependsOn` names tasks of the same project that must
/// complete first.
public struct NewTask: CommandPayload {
    public static let kind = CommandKind.taskCreate
    public static let route = CommandRoute(.post, "/v1/tasks")
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
    public static let route = CommandRoute(.post, "/v1/tasks/:id/assign")
    public var pathID: Int64? { id }
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
    public static let route = CommandRoute(.post, "/v1/tasks/:id/cancel")
    public var pathID: Int64? { id }
    public var id: Int64
    public var reason: String?

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, reason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(reason, "reason", length: 1...500)
    }

    public var references: [Reference] { [Reference(.task, id, field: "id")] }
}

/// `task.retry`: a failed or cancelled task is pending again, a new attempt when dispatched; the tasks its
/// cancellation took with it come back too.
public struct TaskRetry: CommandPayload {
    public static let kind = CommandKind.taskRetry
    public static let route = CommandRoute(.post, "/v1/tasks/:id/retry")
    public var pathID: Int64? { id }
    public var id: Int64

    public enum CodingKeys: String, CodingKey, CaseIterable { case id }

    public init(id: Int64) { self.id = id }

    public func validate() throws(ValidationError) { try Check.positive(id, "id") }
    public var references: [Reference] { [Reference(.task, id, field: "id")] }
}

/// `task.split`: many tasks of a project in one command, from a plan whose tasks name each other by local
/// keys (`dependsOn: ["research"]`). Created in dependency order, in one transaction: all or none.
public struct TaskSplit: CommandPayload {
    public static let kind = CommandKind.taskSplit
    public static let route = CommandRoute(.post, "/v1/tasks/split")
    public var projectId: Int64
    public var tasks: [PlannedTask]

    public enum CodingKeys: String, CodingKey, CaseIterable { case projectId, tasks }

    /// One task of a plan.
    public struct PlannedTask: Codable, Sendable, Equatable {
        public var key: String
        public var title: String
        public var description: String?
        public var taskType: TaskType?
        public var requiredSpecialization: Specialization?
        public var priority: Int?
        public var estimatedDurationMs: Int64?
        public var dependsOn: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case key, title, description, taskType, requiredSpecialization, priority, estimatedDurationMs, dependsOn
        }

        /// Decodes a task of the plan, refusing a field it does not have (as the top level does).
        public init(from decoder: any Decoder) throws {
            try JSONBody.refuseUnknownKeys(decoder, allowed: CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            key = try container.decode(String.self, forKey: .key)
            title = try container.decode(String.self, forKey: .title)
            description = try container.decodeIfPresent(String.self, forKey: .description)
            taskType = try container.decodeIfPresent(TaskType.self, forKey: .taskType)
            requiredSpecialization = try container.decodeIfPresent(Specialization.self, forKey: .requiredSpecialization)
            priority = try container.decodeIfPresent(Int.self, forKey: .priority)
            estimatedDurationMs = try container.decodeIfPresent(Int64.self, forKey: .estimatedDurationMs)
            dependsOn = try container.decodeIfPresent([String].self, forKey: .dependsOn)
        }
    }

    public func validate() throws(ValidationError) {
        try Check.positive(projectId, "projectId")
        try Check.range(tasks.count, "tasks", 1...200)
        var seen: Set<String> = []
        for (index, task) in tasks.enumerated() {
            let field = "tasks[\(index)]"
            try Check.text(task.key, "\(field).key", length: 1...60)
            guard seen.insert(task.key).inserted else {
                throw ValidationError(field: "\(field).key", message: "names another task too (\(task.key))")
            }
            try Check.text(task.title, "\(field).title", length: 1...300)
            try Check.text(task.description, "\(field).description", length: 0...50_000)
            try Check.range(task.priority, "\(field).priority", 1...5)
            try Check.range(task.estimatedDurationMs, "\(field).estimatedDurationMs", 0...(30 * 24 * 3_600_000))
        }
        if case .failure(let problem) = order {
            switch problem {
            case .unknown(let task, let name):
                throw ValidationError(
                    field: "tasks[\(task)].dependsOn", message: "names \(name), which is not a task of the plan")
            case .cycle(let names):
                throw ValidationError(
                    field: "tasks", message: "the dependencies make a cycle: \(names.joined(separator: " -> "))")
            }
        }
    }

    /// The order to create the tasks in (indices into `tasks`).
    public var order: Result<[Int], TaskGraph.Problem> {
        TaskGraph.order(names: tasks.map(\.key), dependencies: tasks.map { $0.dependsOn ?? [] })
    }

    public var references: [Reference] { [Reference(.project, projectId, field: "projectId")] }
}

/// `task.dispatch`: run a task on the gateway. A pending task is assigned first (to `agentId`, or to the agent
/// the router picks); an assigned task goes to its agent. `priority` overrides the dispatch priority the plan's
/// rules give. If the agent is at capacity the task waits, queued, until a slot frees.
public struct TaskDispatch: CommandPayload {
    public static let kind = CommandKind.taskDispatch
    public static let route = CommandRoute(.post, "/v1/tasks/:id/dispatch")
    public var pathID: Int64? { id }
    public var id: Int64
    public var agentId: Int64?
    public var priority: Int?
    /// Dispatch work that billing holds (``UsageHold``), and why.
    public var overrideReason: String?

    public init(id: Int64, agentId: Int64? = nil, priority: Int? = nil, overrideReason: String? = nil) {
        self.id = id
        self.agentId = agentId
        self.priority = priority
        self.overrideReason = overrideReason
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, agentId, priority, overrideReason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        if let agentId { try Check.positive(agentId, "agentId") }
        try Check.range(priority, "priority", TaskPriority.range.lowerBound...TaskPriority.range.upperBound)
        try Check.text(overrideReason, "overrideReason", length: 1...1000)
    }

    public var references: [Reference] {
        [Reference(.task, id, field: "id")] + (agentId.map { [Reference(.agent, $0, field: "agentId")] } ?? [])
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// Tasks as operators plan them: created under a project, assigned to an agent, cancelled before they run.
/// Each status change is ``TaskLifecycle``'s transition, made under the row's lock.
public enum TaskPlanning {
    public static func create(_ new: NewTask, messageID: String, now: Date, in tx: PGConnection) throws -> Int64 {
        let project = try openProject(new.projectId, in: tx)
        let dependencies = new.dependsOn ?? []
        if !dependencies.isEmpty {
            let found = try tx.query(
                "SELECT id FROM tasks WHERE id = ANY($1::bigint[]) AND project_id = $2",
                [PGArray(dependencies.map(String.init)), new.projectId]
            ).rows.map { try $0.decode("id", as: Int64.self) }
            if let missing = dependencies.first(where: { !found.contains($0) }) {
                throw CommandRejection("task \(missing) is not a task of project \(new.projectId)")
            }
        }
        return try insert(
            Draft(
                title: new.title, description: new.description, taskType: new.taskType,
                requiredSpecialization: new.requiredSpecialization, priority: new.priority,
                estimatedDurationMs: new.estimatedDurationMs, dependsOn: dependencies),
            into: project, messageID: messageID, now: now, in: tx)
    }

    /// Creates a plan's tasks in dependency order, each depending on the ids its local names got; returns the
    /// ids by local name.
    public static func split(
        _ split: TaskSplit, messageID: String, now: Date, in tx: PGConnection
    ) throws
        -> [String: Int64]
    {
        let project = try openProject(split.projectId, in: tx)
        guard case .success(let order) = split.order else {
            throw CommandRejection("the plan's dependencies make a cycle")
        }
        var ids: [String: Int64] = [:]
        for index in order {
            let task = split.tasks[index]
            ids[task.key] = try insert(
                Draft(
                    title: task.title, description: task.description, taskType: task.taskType,
                    requiredSpecialization: task.requiredSpecialization, priority: task.priority,
                    estimatedDurationMs: task.estimatedDurationMs,
                    dependsOn: (task.dependsOn ?? []).compactMap { ids[$0] }),
                into: project, messageID: messageID, now: now, in: tx)
        }
        return ids
    }

    /// A task to insert, from either command.
    struct Draft {
        let title: String
        let description: String?
        let taskType: TaskType?
        let requiredSpecialization: Specialization?
        let priority: Int?
        let estimatedDurationMs: Int64?
        let dependsOn: [Int64]
        /// A revision's or a redo's: the work's original task.
        var parentTaskID: Int64? = nil
    }

    /// The project tasks are added to, locked against changes (FOR SHARE) until the transaction ends.
    struct OpenProject {
        let id: Int64
        let clientID: Int64
        /// The project's base priority, from its plan's terms.
        let planPriority: Int?
        let deadline: Date?
    }

    static func openProject(_ id: Int64, in tx: PGConnection) throws -> OpenProject {
        guard
            let project = try tx.query(
                "SELECT status, client_id, priority, deadline FROM projects WHERE id = $1 FOR SHARE", [id]
            ).first
        else { throw CommandRejection("there is no project \(id)") }
        let status = ProjectStatus(rawValue: try project.decode("status")) ?? .archived
        guard ProjectLifecycle.takesNewTasks(status) else {
            throw CommandRejection("project \(id) is \(status.rawValue); it takes no new tasks")
        }
        return OpenProject(
            id: id, clientID: try project.decode("client_id"),
            planPriority: try project.decode("priority", as: Int?.self),
            deadline: try project.decode("deadline", as: Date?.self))
    }

    static func insert(
        _ draft: Draft, into project: OpenProject, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Int64 {
        let priority =
            draft.priority
            ?? TaskPriority.default(
                planPriority: project.planPriority, taskType: draft.taskType, deadline: project.deadline, now: now)
        let id: Int64 = try tx.query(
            """
            INSERT INTO tasks (title, description, project_id, priority, task_type, required_specialization,
                               estimated_duration_ms, parent_task_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
            """,
            [
                draft.title, draft.description, project.id, priority, draft.taskType?.rawValue,
                draft.requiredSpecialization?.rawValue, draft.estimatedDurationMs, draft.parentTaskID,
            ]
        ).first!.decode("id")
        if !draft.dependsOn.isEmpty {
            _ = try tx.query(
                "INSERT INTO task_dependencies (task_id, depends_on_task_id) SELECT $1, unnest($2::bigint[])",
                [id, PGArray(draft.dependsOn.map(String.init))])
        }
        try EventLog.record(
            "task.created", "Task \(id) (\(draft.title)) created at priority \(priority)",
            about: .init(clientID: project.clientID, projectID: project.id, taskID: id), messageID: messageID, in: tx)
        return id
    }

    public static func assign(_ assignment: TaskAssignment, messageID: String, in tx: PGConnection) throws {
        let task = try lock(assignment.id, in: tx)
        let target = try transition(task, .assign)
        guard let agent = try tx.query("SELECT name FROM agents WHERE id = $1", [assignment.agentId]).first else {
            throw CommandRejection("there is no agent \(assignment.agentId)")
        }
        _ = try tx.query(
            "UPDATE tasks SET status = $2, assigned_agent_id = $3, updated_at = now() WHERE id = $1",
            [assignment.id, target.rawValue, assignment.agentId])
        try EventLog.record(
            "task.assigned", "Task \(assignment.id) assigned to \(try agent.decode("name", as: String.self))",
            about: .init(projectID: task.projectID, taskID: assignment.id, agentID: assignment.agentId),
            messageID: messageID, in: tx)
        try ProjectStatusWriter.settle(projects: task.projectID.map { [$0] } ?? [], messageID: messageID, in: tx)
    }

    /// `task.cancel`: a task that has not started fails with the operator's reason, and so does every task that
    /// depends on it, directly or not, that has not started either (each names the cancelled task in
    /// `cancelled_with`; `task.retry` of it brings them back). A dependent already running is left to finish.
    /// Returns the dependents cancelled with it.
    @discardableResult
    public static func cancel(
        _ cancellation: TaskCancellation, messageID: String, in tx: PGConnection
    ) throws -> [Int64] {
        let task = try lock(cancellation.id, in: tx)
        let target = try transition(task, .cancel)
        let reason = "cancelled by an operator" + (cancellation.reason.map { ": \($0)" } ?? "")
        _ = try tx.query(
            "UPDATE tasks SET status = $2, error = $3, completed_at = now(), updated_at = now() WHERE id = $1",
            [cancellation.id, target.rawValue, reason])
        try EventLog.record(
            "task.cancelled", "Task \(cancellation.id) \(reason)",
            about: .init(projectID: task.projectID, taskID: cancellation.id), messageID: messageID, in: tx)
        let dependents: [Int64] = try tx.query(
            """
            WITH RECURSIVE below (id) AS (
                SELECT d.task_id FROM task_dependencies d WHERE d.depends_on_task_id = $1
                UNION
                SELECT d.task_id FROM task_dependencies d JOIN below b ON d.depends_on_task_id = b.id
            )
            UPDATE tasks t SET status = 'failed', completed_at = now(), updated_at = now(), cancelled_with = $1,
                   error = 'cancelled with task ' || $1 || ', which it depends on'
              FROM below b WHERE t.id = b.id AND t.status IN ('pending', 'assigned')
            RETURNING t.id
            """, [cancellation.id]
        ).rows.map { try $0.decode("id") }
        for dependent in dependents.sorted() {
            try EventLog.record(
                "task.cancelled", "Task \(dependent) cancelled with task \(cancellation.id), which it depends on",
                about: .init(projectID: task.projectID, taskID: dependent), messageID: "\(messageID):\(dependent)",
                in: tx)
        }
        try ProjectStatusWriter.settle(projects: task.projectID.map { [$0] } ?? [], messageID: messageID, in: tx)
        return dependents
    }

    /// `task.retry`: a failed (or cancelled) task is pending again, for a new attempt when it is dispatched;
    /// the tasks its cancellation took with it (``cancel(_:messageID:in:)``) are pending again too. A task
    /// with retries of its own left is retried by the review worker already; this is the operator's re-plan.
    /// Returns the tasks made pending.
    @discardableResult
    public static func retry(_ retry: TaskRetry, messageID: String, in tx: PGConnection) throws -> [Int64] {
        let task = try lock(retry.id, in: tx)
        _ = try transition(task, .retry)
        let restored: [Int64] = try tx.query(
            """
            WITH RECURSIVE taken (id) AS (
                SELECT $1::bigint
                UNION
                SELECT t.id FROM tasks t JOIN taken k ON t.cancelled_with = k.id
            )
            UPDATE tasks t SET status = 'pending', error = NULL, completed_at = NULL, cancelled_with = NULL,
                   assigned_agent_id = CASE WHEN t.id = $1 THEN t.assigned_agent_id END, updated_at = now()
              FROM taken k WHERE t.id = k.id AND t.status = 'failed'
            RETURNING t.id
            """, [retry.id]
        ).rows.map { try $0.decode("id") }
        for id in restored.sorted() {
            try EventLog.record(
                "task.retried",
                id == retry.id
                    ? "Task \(id) is pending again (an operator's retry)"
                    : "Task \(id) is pending again with task \(retry.id), whose cancellation took it",
                about: .init(projectID: task.projectID, taskID: id), messageID: "\(messageID):\(id)", in: tx)
        }
        try ProjectStatusWriter.settle(projects: task.projectID.map { [$0] } ?? [], messageID: messageID, in: tx)
        return restored.sorted()
    }

    struct Locked {
        let id: Int64
        let status: TaskStatus
        let projectID: Int64?
    }

    static func lock(_ id: Int64, in tx: PGConnection) throws -> Locked {
        guard let row = try tx.query("SELECT status, project_id FROM tasks WHERE id = $1 FOR UPDATE", [id]).first else {
            throw CommandRejection("there is no task \(id)")
        }
        guard let status = TaskStatus(rawValue: try row.decode("status")) else {
            throw PGError(.decoding, "unknown task status")
        }
        return Locked(id: id, status: status, projectID: try row.decode("project_id", as: Int64?.self))
    }

    static func transition(_ task: Locked, _ event: TaskEvent) throws -> TaskStatus {
        switch TaskLifecycle.next(from: task.status, on: event) {
        case .success(let target): return target
        case .failure:
            throw CommandRejection(
                "task \(task.id) is \(task.status.rawValue); only a \(event.allowedFrom) task can be \(event.pastTense)"
            )
        }
    }
}

extension TaskEvent {
    fileprivate var pastTense: String {
        switch self {
        case .assign: return "assigned"
        case .unassign: return "unassigned"
        case .start: return "started"
        case .complete: return "completed"
        case .fail: return "failed"
        case .retry: return "retried"
        case .cancel: return "cancelled"
        }
    }

    /// The states the lifecycle allows the event from, for messages ("pending or assigned").
    fileprivate var allowedFrom: String {
        TaskStatus.allCases.filter { if case .success = TaskLifecycle.next(from: $0, on: self) { true } else { false } }
            .map(\.rawValue).joined(separator: " or ")
    }
}

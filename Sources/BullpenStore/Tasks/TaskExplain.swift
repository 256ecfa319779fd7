import BullpenDomain
import Foundation
import PostgreSQL

/// What ``TaskExplanation`` reads of a task: its row, its unfinished dependencies, a billing hold on its work,
/// its agent's slots and the tasks ahead of it in that agent's line, its open attempt, the reasons of its last
/// dispatch request and the reasons its messages were parked.
public enum TaskExplain {
    /// `{"taskId", "status", "reasons"}` for task `id` at `now`, or nil when there is none.
    public static func json(_ id: Int64, now: Date = Date(), on db: PGConnection) throws -> String? {
        guard let snapshot = try snapshot(id, on: db) else { return nil }
        struct Explained: Encodable {
            let taskId: Int64
            let status: String
            let reasons: [String]
        }
        return String(
            decoding: try JSONBody.encode(
                Explained(
                    taskId: id, status: snapshot.status.rawValue,
                    reasons: TaskExplanation.reasons(snapshot, now: now))), as: UTF8.self)
    }

    /// The snapshot of task `id`, or nil when there is none.
    public static func snapshot(_ id: Int64, on db: PGConnection) throws -> TaskExplanation.Snapshot? {
        guard
            let row = try db.query(
                """
                SELECT t.status, t.error, t.retry_count, t.max_retries, t.dispatch_priority, t.dispatch_requested_at,
                       t.escalation_reason,
                       t.project_id, t.task_type, coalesce(t.parent_task_id, t.id) AS work,
                       a.id AS agent_id, a.name AS agent_name, a.status AS agent_status, a.max_concurrent_tasks,
                       (SELECT count(*) FROM task_attempts o WHERE o.agent_id = a.id AND o.closed_at IS NULL)::int AS open_runs,
                       (SELECT count(*) FROM tasks w
                         WHERE w.assigned_agent_id = t.assigned_agent_id AND w.id <> t.id AND w.status = 'assigned'
                           AND w.dispatch_requested_at IS NOT NULL AND t.dispatch_requested_at IS NOT NULL
                           AND (w.dispatch_priority > t.dispatch_priority
                                OR (w.dispatch_priority = t.dispatch_priority
                                    AND (w.dispatch_requested_at, w.id) < (t.dispatch_requested_at, t.id))))::int AS ahead,
                       x.attempt, x.opened_at, x.session_key, x.deadline_at,
                       (SELECT e.data -> 'reasons' FROM events e WHERE e.task_id = t.id AND e.type = 'task.dispatch_requested'
                         ORDER BY e.id DESC LIMIT 1)::text AS decided,
                       (SELECT coalesce(json_agg(d.reason ORDER BY d.id DESC), '[]') FROM dead_letters d
                         WHERE d.status = 'parked'
                           AND (d.message_id LIKE 'run-start:bullpen-' || t.id || '-%'
                                OR d.message_id LIKE 'task-result:' || t.id || ':%'))::text AS parked,
                       (SELECT e.data FROM events e WHERE e.task_id = t.id AND e.type = 'task.dispatch_retrying'
                         ORDER BY e.id DESC LIMIT 1)::text AS retry
                  FROM tasks t
                  LEFT JOIN agents a ON a.id = t.assigned_agent_id
                  LEFT JOIN task_attempts x ON x.task_id = t.id AND x.closed_at IS NULL
                 WHERE t.id = $1
                """, [id]
            ).first
        else { return nil }
        let status = TaskStatus(rawValue: try row.decode("status")) ?? .failed
        var hold: String?
        if status == .pending, let project = try row.decode("project_id", as: Int64?.self),
            let standing = try UsageStore.standing(projectID: project, excludingWork: try row.decode("work"), in: db)
        {
            let type = try row.decode("task_type", as: String?.self).flatMap(TaskType.init(rawValue:))
            let work: Int64 = try row.decode("work")
            hold = UsageHold.reason(standing, producesDeliverable: type != .revision && work == id)
        }
        let agent = try row.decode("agent_id", as: Int64?.self).map { agentID in
            TaskExplanation.Agent(
                id: agentID, name: try row.decode("agent_name"),
                status: AgentStatus(rawValue: try row.decode("agent_status")) ?? .offline,
                openRuns: try row.decode("open_runs"), maxConcurrentTasks: try row.decode("max_concurrent_tasks"))
        }
        let attempt = try row.decode("attempt", as: Int?.self).map { number in
            TaskExplanation.Attempt(
                number: number, openedAt: try row.decode("opened_at"),
                sessionKey: try row.decode("session_key", as: String?.self),
                deadlineAt: try row.decode("deadline_at", as: Date?.self))
        }
        func strings(_ column: String) throws -> [String] {
            guard let text = try row.decode(column, as: String?.self) else { return [] }
            return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
        }
        return TaskExplanation.Snapshot(
            taskID: id, status: status, error: try row.decode("error", as: String?.self),
            retryCount: try row.decode("retry_count"), maxRetries: try row.decode("max_retries"),
            unfinishedDependencies: try TaskDispatching.unfinishedDependencies(of: id, in: db), hold: hold,
            dispatchPriority: try row.decode("dispatch_priority", as: Int?.self), agent: agent,
            ahead: try row.decode("ahead"), attempt: attempt, decided: try strings("decided"),
            parked: try strings("parked"), retry: try retry(row.decode("retry", as: String?.self)),
            escalation: try row.decode("escalation_reason", as: String?.self))
    }

    /// A `task.dispatch_retrying` event's data.
    static func retry(_ text: String?) throws -> TaskExplanation.Retry? {
        guard let text else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(TaskExplanation.Retry.self, from: Data(text.utf8))
    }
}

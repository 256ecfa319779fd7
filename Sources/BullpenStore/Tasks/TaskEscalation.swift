import BullpenDomain
import Foundation
import PostgreSQL

/// Raising tasks' priority as ``Escalation`` says, with the reason on each task and an event: the task's
/// priority, and its dispatch priority when it waits for a slot (its place in its agent's line moves with it).
public enum TaskEscalation {
    /// Tasks whose SLA went at risk, each once (`escalated_at` marks it): raised to the next band. Returns
    /// the tasks raised.
    @discardableResult
    public static func slaAtRisk(
        _ tasks: [(taskID: Int64, slaID: Int64, type: String)], messageID: String, in tx: PGConnection
    ) throws -> [Int64] {
        var raised: [Int64] = []
        for task in tasks {
            guard
                let row = try tx.query(
                    """
                    UPDATE tasks t SET priority = least(t.priority + 1, $2),
                           dispatch_priority = CASE WHEN t.dispatch_priority IS NULL THEN NULL
                                                    ELSE least(t.dispatch_priority + 1, $2) END,
                           escalated_at = now(), updated_at = now()
                     WHERE t.id = $1 AND t.escalated_at IS NULL AND t.status IN ('pending', 'assigned')
                    RETURNING t.project_id, (SELECT o.priority FROM tasks o WHERE o.id = t.id) AS was, t.priority
                    """, [task.taskID, Escalation.critical]
                ).first
            else { continue }
            let reason = Escalation.slaReason(
                slaID: task.slaID, type: task.type, from: try row.decode("was"), to: try row.decode("priority"))
            try record(
                task.taskID, projectID: try row.decode("project_id"), reason: reason, messageID: messageID, in: tx)
            raised.append(task.taskID)
        }
        return raised
    }

    /// A client's escalation: the project's open work to Critical. Returns how many tasks it raised.
    @discardableResult
    public static func client(
        _ escalation: ProjectEscalation, messageID: String, in tx: PGConnection
    ) throws -> Int {
        let rows = try tx.query(
            """
            UPDATE tasks t SET priority = $2,
                   dispatch_priority = CASE WHEN t.dispatch_priority IS NULL THEN NULL ELSE $2 END,
                   escalated_at = now(), updated_at = now()
             WHERE t.project_id = $1 AND t.status IN ('pending', 'assigned') AND t.priority < $2
            RETURNING t.id, (SELECT o.priority FROM tasks o WHERE o.id = t.id) AS was
            """, [escalation.id, Escalation.critical]
        ).rows
        for row in rows {
            try record(
                try row.decode("id"), projectID: escalation.id,
                reason: Escalation.clientReason(escalation.reason, from: try row.decode("was")), messageID: messageID,
                in: tx)
        }
        try EventLog.record(
            "project.escalated",
            "Project \(escalation.id) escalated by the client (\(escalation.reason)): \(rows.count) open tasks raised to Critical",
            about: .init(projectID: escalation.id), messageID: messageID, in: tx)
        return rows.count
    }

    static func record(_ task: Int64, projectID: Int64?, reason: String, messageID: String, in tx: PGConnection) throws
    {
        try tx.query("UPDATE tasks SET escalation_reason = $2 WHERE id = $1", [task, reason])
        try EventLog.record(
            "task.escalated", "Task \(task) escalated: \(reason)",
            data: String(
                decoding: try JSONSerialization.data(withJSONObject: ["reason": reason], options: [.sortedKeys]),
                as: UTF8.self),
            about: .init(projectID: projectID, taskID: task), messageID: "\(messageID):\(task)", in: tx)
    }
}

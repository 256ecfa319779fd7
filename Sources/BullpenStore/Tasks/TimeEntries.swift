import BullpenDomain
import Foundation
import PostgreSQL

/// Time entries: the agents' (written by their runs' results) and the operators' own (`time.add`), read per
/// task, project, client and agent.
public enum TimeEntries {
    /// An operator's time on a project (and one of its tasks); refused when the task is another project's.
    public static func add(_ entry: TimeEntryNew, now: Date, messageID: String, in tx: PGConnection) throws -> Int64 {
        if let task = entry.taskId {
            let project: Int64? = try tx.query("SELECT project_id FROM tasks WHERE id = $1", [task]).first?.decode(
                "project_id")
            guard project == entry.projectId else {
                throw CommandRejection("task \(task) is not project \(entry.projectId)'s")
            }
        }
        let ms = Int64(entry.minutes) * 60_000
        let started = entry.startedAt?.date ?? now.addingTimeInterval(-Double(ms) / 1000)
        let id: Int64 = try tx.query(
            """
            INSERT INTO time_entries (project_id, task_id, operator_id, type, duration_ms, started_at, ended_at,
                                      description, billable)
            VALUES ($1, $2, 'operator', $3, $4, $5, $6, $7, coalesce($8, true)) RETURNING id
            """,
            [
                entry.projectId, entry.taskId, entry.type.rawValue, ms, started,
                started.addingTimeInterval(Double(ms) / 1000), entry.description, entry.billable,
            ]
        ).first!.decode("id")
        try EventLog.record(
            "time.added",
            "\(entry.minutes) min of \(entry.type.rawValue.replacingOccurrences(of: "_", with: " ")) on project \(entry.projectId)",
            about: .init(projectID: entry.projectId, taskID: entry.taskId), messageID: messageID, in: tx)
        return id
    }
}

extension ReadModel {
    /// Time entries, oldest first, by project, task, client (its projects') and agent (operators only):
    /// each with who or what spent it, how long, and whether it is billable.
    public static func timeEntries(
        _ page: PageRequest, projectID: Int64?, taskID: Int64?, clientID: Int64?, agentID: Int64?, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT e.id, jsonb_build_object(
                       'id', e.id, 'projectId', e.project_id, 'clientId', p.client_id, 'taskId', e.task_id,
                       'agentId', e.agent_id, 'operatorId', e.operator_id, 'type', e.type, 'durationMs', e.duration_ms,
                       'startedAt', e.started_at, 'endedAt', e.ended_at, 'description', e.description,
                       'billable', e.billable)::text AS item
              FROM time_entries e JOIN projects p ON p.id = e.project_id
             WHERE $1::bigint IS NULL AND e.id > $2
               AND ($4::bigint IS NULL OR e.project_id = $4) AND ($5::bigint IS NULL OR e.task_id = $5)
               AND ($6::bigint IS NULL OR p.client_id = $6) AND ($7::bigint IS NULL OR e.agent_id = $7)
             ORDER BY e.id LIMIT $3
            """, name: "read.time_entries", viewer: .operator, filters: [projectID, taskID, clientID, agentID], on: db)
    }
}

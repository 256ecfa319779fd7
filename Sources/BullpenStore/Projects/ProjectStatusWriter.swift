import BullpenDomain
import Foundation
import PostgreSQL

/// The one place that writes `projects.status` as work moves (``ProjectProgress`` decides; archiving is its
/// own command): after a run starts, a result settles, a version is delivered, a revision or a cancellation,
/// the projects touched are looked at (whether any work is in each state: index look-ups, whatever the
/// project's size), each moves through the lifecycle to where its work says it is, and each
/// move writes a `project.<status>` event. Conditional on the status read, so a concurrent move wins cleanly.
public enum ProjectStatusWriter {
    /// Moves the projects (given, and those of the tasks given) to where their work says; returns the projects
    /// that moved, with their new status.
    @discardableResult
    public static func settle(
        projects projectIDs: some Sequence<Int64> = [], ofTasks taskIDs: some Sequence<Int64> = [],
        messageID: String, in tx: PGConnection
    ) throws -> [Int64: ProjectStatus] {
        let (ids, tasks) = (Set(projectIDs), Set(taskIDs))
        guard !ids.isEmpty || !tasks.isEmpty else { return [:] }
        tx.prepare(
            "projects.work",
            """
            SELECT p.id, p.client_id, p.status,
                   EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id AND t.status = 'pending')::int AS pending,
                   EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id AND t.status IN ('assigned', 'running'))::int
                       AS started,
                   EXISTS (SELECT 1 FROM deliverables d WHERE d.project_id = p.id
                       AND d.status IN ('draft', 'review', 'approved'))::int AS awaiting,
                   EXISTS (SELECT 1 FROM deliverables d WHERE d.project_id = p.id AND d.status = 'delivered')::int
                       AS delivered
              FROM projects p
             WHERE p.id = ANY($1::bigint[]) OR p.id IN (SELECT t.project_id FROM tasks t WHERE t.id = ANY($2::bigint[]))
             ORDER BY p.id
            """)
        var moved: [Int64: ProjectStatus] = [:]
        let parameters = [PGArray(ids.sorted().map(String.init)), PGArray(tasks.sorted().map(String.init))]
        for row in try tx.executePrepared("projects.work", parameters).rows {
            let id: Int64 = try row.decode("id")
            guard let current = ProjectStatus(rawValue: try row.decode("status")) else { continue }
            let work = ProjectProgress.Work(
                pending: try row.decode("pending"), started: try row.decode("started"),
                awaiting: try row.decode("awaiting"), delivered: try row.decode("delivered"))
            let status = ProjectProgress.reached(current, work)
            guard status != current else { continue }
            let updated =
                try tx.query(
                    """
                    UPDATE projects SET status = $3,
                           delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE NULL END
                     WHERE id = $1 AND status = $2 RETURNING id
                    """, [id, current.rawValue, status.rawValue]
                ).first != nil
            guard updated else { continue }
            try EventLog.record(
                "project.\(status.rawValue)", "Project \(id) is \(status.rawValue) (was \(current.rawValue))",
                about: .init(clientID: try row.decode("client_id"), projectID: id), messageID: messageID, in: tx)
            moved[id] = status
        }
        return moved
    }

    /// A move a command asks for (a revision reopens delivered work; archiving), through the lifecycle; nil when
    /// the project is not in a state the event applies to (it stays).
    @discardableResult
    public static func move(
        _ projectID: Int64, on event: ProjectEvent, messageID: String, in tx: PGConnection
    ) throws -> ProjectStatus? {
        guard
            let row = try tx.query("SELECT status, client_id FROM projects WHERE id = $1 FOR UPDATE", [projectID])
                .first,
            let current = ProjectStatus(rawValue: try row.decode("status")),
            case .success(let next) = ProjectLifecycle.next(from: current, on: event)
        else { return nil }
        try tx.query(
            """
            UPDATE projects SET status = $2,
                   delivered_at = CASE $2 WHEN 'delivered' THEN now() WHEN 'archived' THEN delivered_at END
             WHERE id = $1
            """, [projectID, next.rawValue])
        try EventLog.record(
            "project.\(next.rawValue)", "Project \(projectID) is \(next.rawValue) (was \(current.rawValue))",
            about: .init(clientID: try row.decode("client_id"), projectID: projectID), messageID: messageID, in: tx)
        return next
    }
}

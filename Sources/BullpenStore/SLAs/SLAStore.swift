import BullpenDomain
import Foundation
import PostgreSQL

/// SLA records: opened from a project's terms when their clock starts, fulfilled when the promise is kept,
/// moved on by the monitor. The clock is the caller's `now` (the scheduler's tick, the command's time), and
/// the rules are ``SLAClock``'s.
public enum SLAStore {
    /// Opens a record of `type` for a project (and the task whose work it times), its deadline the target
    /// hours of the project's terms after `now`. Opening the same one again (the same task and type, or a
    /// project's second first response) does nothing; a project without terms gets none.
    public static func open(_ type: SLAType, projectID: Int64, taskID: Int64?, now: Date, in tx: PGConnection) throws {
        guard
            let project = try tx.query(
                "SELECT client_id, sla_response_hours, sla_delivery_hours FROM projects WHERE id = $1", [projectID]
            ).first,
            let response = try project.decode("sla_response_hours", as: Int?.self),
            let delivery = try project.decode("sla_delivery_hours", as: Int?.self)
        else { return }
        let hours = type.targetHours(responseHours: response, deliveryHours: delivery)
        try tx.query(
            """
            INSERT INTO sla_records (project_id, client_id, type, status, started_at, deadline_at, target_hours, task_id)
            VALUES ($1, $2, $3, 'on_track', $4, $5, $6, $7)
            ON CONFLICT DO NOTHING
            """,
            [
                projectID, try project.decode("client_id", as: Int64.self), type.rawValue, now,
                now.addingTimeInterval(Double(hours) * 3600), hours, taskID,
            ])
    }

    /// The project's first response came (its first task was dispatched).
    public static func firstResponse(projectID: Int64, now: Date, in tx: PGConnection) throws {
        try fulfil(
            "r.project_id = $1 AND r.type = 'first_response'", [projectID], now: now, note: "first task dispatched",
            in: tx)
    }

    /// An operator answered on the project's thread: every message waiting is answered.
    public static func answered(projectID: Int64, now: Date, in tx: PGConnection) throws {
        try fulfil(
            "r.project_id = $1 AND r.type = 'message_response'", [projectID], now: now, note: "answered", in: tx)
    }

    /// A version of the work of `taskID` was delivered: its deliverable-due and revision-due records (of the
    /// work's original task and of its revisions) are fulfilled.
    public static func delivered(taskID: Int64, now: Date, in tx: PGConnection) throws {
        try fulfil(
            """
            r.type IN ('deliverable_due', 'revision_due') AND r.task_id IN (
                SELECT w.id FROM tasks t JOIN tasks w ON w.id = coalesce(t.parent_task_id, t.id) WHERE t.id = $1
                UNION ALL
                SELECT c.id FROM tasks t JOIN tasks c ON c.parent_task_id = coalesce(t.parent_task_id, t.id)
                 WHERE t.id = $1)
            """, [taskID], now: now, note: "delivered", in: tx)
    }

    private static func fulfil(
        _ condition: String, _ parameters: [(any PGEncodable)?], now: Date, note: String, in tx: PGConnection
    ) throws {
        let open = try tx.query(
            """
            SELECT r.id, r.status, r.started_at, r.deadline_at FROM sla_records r
             WHERE \(condition) AND r.completed_at IS NULL ORDER BY r.id FOR UPDATE
            """, parameters)
        for row in open.rows {
            let current = SLAStatus(rawValue: try row.decode("status")) ?? .onTrack
            let started: Date = try row.decode("started_at")
            let status = SLAClock.fulfilled(current: current, deadline: try row.decode("deadline_at"), now: now)
            try tx.query(
                """
                UPDATE sla_records SET status = $2, completed_at = $3, actual_hours = $4,
                                       notes = coalesce(notes || '; ', '') || $5
                 WHERE id = $1
                """,
                [
                    try row.decode("id", as: Int64.self), status.rawValue, now,
                    max(0, now.timeIntervalSince(started) / 3600), note,
                ])
        }
    }

    /// A record the monitor moved on.
    public struct Transition: Sendable, Equatable {
        public var id: Int64
        public var projectID: Int64
        public var projectName: String
        public var type: SLAType
        public var from: SLAStatus
        public var to: SLAStatus
        public var deadline: Date
        /// The task the SLA is about, if it is a task's.
        public var taskID: Int64?
    }

    /// Moves open records on at `now` (up to `limit`, the nearest deadlines first): those whose at-risk point
    /// has passed are read under lock (skipping ones another monitor holds), and each one whose status
    /// changes is updated with an `sla.<status>` event. Returns the transitions, each once.
    public static func monitor(
        now: Date, limit: Int = 1000, messageID: String, in tx: PGConnection
    ) throws
        -> [Transition]
    {
        let due = try tx.query(
            """
            SELECT r.id, r.project_id, p.name, r.client_id, r.type, r.status, r.started_at, r.deadline_at, r.task_id
              FROM sla_records r JOIN projects p ON p.id = r.project_id
             WHERE r.status IN ('on_track', 'at_risk') AND r.completed_at IS NULL
               AND r.deadline_at - (r.deadline_at - r.started_at) * $2::float8 <= $1
             ORDER BY r.deadline_at LIMIT $3
               FOR UPDATE OF r SKIP LOCKED
            """, [now, SLAClock.atRiskShare, limit])
        var transitions: [Transition] = []
        for row in due.rows {
            let current = SLAStatus(rawValue: try row.decode("status")) ?? .onTrack
            let deadline: Date = try row.decode("deadline_at")
            let next = SLAClock.status(
                current: current, startedAt: try row.decode("started_at"), deadline: deadline, now: now)
            guard next != current, let type = SLAType(rawValue: try row.decode("type")) else { continue }
            let transition = Transition(
                id: try row.decode("id"), projectID: try row.decode("project_id"), projectName: try row.decode("name"),
                type: type, from: current, to: next, deadline: deadline,
                taskID: try row.decode("task_id", as: Int64?.self))
            try tx.query("UPDATE sla_records SET status = $2 WHERE id = $1", [transition.id, next.rawValue])
            try EventLog.record(
                "sla.\(next.rawValue)",
                "SLA \(transition.id) (\(type.words)) of project \(transition.projectID) is \(next.rawValue.split(separator: "_").joined(separator: " "))",
                data: "{\"slaId\": \(transition.id)}",
                about: .init(clientID: try row.decode("client_id"), projectID: transition.projectID),
                messageID: messageID, in: tx)
            transitions.append(transition)
        }
        return transitions
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// Deliverables: the versions of a task's work that a human reviews and the client receives.
public enum DeliverableStore {
    /// A deliverable version that a completed task opened for review.
    public struct Opened: Sendable, Equatable {
        public var id: Int64
        public var taskID: Int64
        public var projectID: Int64
        public var title: String
        public var version: Int
    }

    /// For each task the caller just completed (of a project; the caller holds their rows and passes only
    /// completed ones: a status condition here let the planner scan every completed task), the next version
    /// of its work's deliverable, straight into review (the lifecycle's draft, then submit for review): the
    /// agent's output as content, titled after the work, linked to the version it replaces (a revision task's
    /// work is its parent's). One statement for any number of tasks, with a `deliverable.review` event each.
    public static func openVersions(
        completed taskIDs: Set<Int64>, messageID: String, in tx: PGConnection
    ) throws
        -> [Opened]
    {
        guard !taskIDs.isEmpty,
            case .success(let review) = DeliverableLifecycle.next(from: .draft, on: .submitForReview)
        else { return [] }
        // Prepared, with its generic plan (index probes whatever the parameters): planning this statement
        // for every result cost more than running it.
        try tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        tx.prepare(
            "deliverables.open_versions",
            """
            WITH done AS (
                SELECT t.id, t.project_id, w.title, coalesce(t.result, '') AS content, w.id AS work
                  FROM tasks t JOIN tasks w ON w.id = coalesce(t.parent_task_id, t.id)
                 WHERE t.id = ANY($1::bigint[]) AND t.project_id IS NOT NULL
            ), opened AS (
                INSERT INTO deliverables (project_id, task_id, title, content, format, status, version,
                                          previous_version_id)
                SELECT d.project_id, d.id, d.title, d.content, 'markdown', $2, coalesce(p.version, 0) + 1, p.id
                  FROM done d
                  LEFT JOIN LATERAL (\(latestVersion(ofWork: "d.work"))) p ON true
                RETURNING id, task_id, project_id, title, version
            ), logged AS (
                INSERT INTO events (type, message, data, project_id, task_id, deliverable_id, message_id)
                SELECT 'deliverable.review', 'Deliverable ' || id || ' (version ' || version || ') awaits review',
                       jsonb_build_object('version', version), project_id, task_id, id, $3
                  FROM opened
            )
            SELECT id, task_id, project_id, title, version FROM opened ORDER BY id
            """)
        return try tx.executePrepared(
            "deliverables.open_versions", [PGArray(taskIDs.map(String.init)), review.rawValue, messageID]
        ).rows.map {
            Opened(
                id: try $0.decode("id"), taskID: try $0.decode("task_id"), projectID: try $0.decode("project_id"),
                title: try $0.decode("title"), version: try $0.decode("version"))
        }
    }

    /// SQL: the latest version (`id`, `version`) of a work (`work`, an expression for its task's id): the
    /// versions of the work's tasks (the original and its revisions), by their indexes (an expression over every
    /// task's parent scanned all deliverables for each result).
    static func latestVersion(ofWork work: String) -> String {
        """
        SELECT w.id, w.version FROM (
            SELECT x.id, x.version FROM deliverables x WHERE x.task_id = \(work)
            UNION ALL
            SELECT x.id, x.version FROM tasks c JOIN deliverables x ON x.task_id = c.id WHERE c.parent_task_id = \(work)
        ) w
         ORDER BY w.version DESC LIMIT 1
        """
    }

    /// What a review decision did.
    public struct Decided: Sendable, Equatable {
        public var id: Int64
        public var status: DeliverableStatus
        public var projectID: Int64
        public var taskID: Int64?
        public var title: String
        /// Delivered: the client's id and address, and whether the project is now delivered.
        public var clientID: Int64?
        public var clientEmail: String?
        public var projectDelivered = false
    }

    /// Approves a deliverable in review (`deliver`: and delivers it, or delivers an approved one): every step
    /// through the deliverable lifecycle; a step it refuses is a ``CommandRejection``. Delivery makes it
    /// visible to the client with its time, counts its work once against the client's subscription (``UsageStore``), and
    /// delivers the project when every deliverable not rejected is delivered and no task is open; the work's
    /// delivery SLAs are fulfilled at `now`.
    public static func decide(
        id: Int64, deliver: Bool, reviewer: String?, notes: String?, messageID: String, now: Date,
        in tx: PGConnection
    ) throws -> Decided {
        guard
            let row = try tx.query(
                "SELECT status, project_id, task_id, title FROM deliverables WHERE id = $1 FOR UPDATE", [id]
            ).first
        else { throw CommandRejection("deliverable \(id) does not exist") }
        let was = DeliverableStatus(rawValue: try row.decode("status")) ?? .rejected
        let status = try ReviewDecider.decide(id, from: was, deliver: deliver)
        var decided = Decided(
            id: id, status: status, projectID: try row.decode("project_id"),
            taskID: try row.decode("task_id", as: Int64?.self), title: try row.decode("title"))
        if was == .review {
            try reviewTime(id, by: reviewer ?? "operator", now: now, in: tx)
        }
        try tx.query(
            """
            UPDATE deliverables
               SET status = $2, reviewed_by = coalesce($3, reviewed_by), review_notes = coalesce($4, review_notes),
                   client_visible = client_visible OR $2 = 'delivered',
                   delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
             WHERE id = $1
            """, [id, status.rawValue, reviewer, notes])
        try EventLog.record(
            "deliverable.\(status.rawValue)", "Deliverable \(id) \(status.rawValue)",
            about: .init(projectID: decided.projectID, taskID: decided.taskID), messageID: messageID, in: tx)
        guard status == .delivered else { return decided }
        if let taskID = decided.taskID { try SLAStore.delivered(taskID: taskID, now: now, in: tx) }
        let delivered = try tx.query(
            """
            WITH counted AS (
                \(UsageStore.countDelivery)
            ), usage AS (
                UPDATE subscriptions s SET deliverables_used = deliverables_used + 1
                  FROM counted WHERE s.id = counted.subscription_id
            )
            SELECT c.id AS client_id, c.email
              FROM projects p JOIN clients c ON c.id = p.client_id WHERE p.id = $1
            """, [decided.projectID, id, decided.taskID]
        ).first
        decided.clientID = try delivered?.decode("client_id", as: Int64?.self)
        decided.clientEmail = try delivered?.decode("email", as: String?.self)
        // The project is delivered when all its work is (the one place that moves it decides).
        let moved = try ProjectStatusWriter.settle(projects: [decided.projectID], messageID: messageID, in: tx)
        decided.projectDelivered = moved[decided.projectID] == .delivered
        return decided
    }

    /// The operator's review of a version, from the moment it awaited review to the decision at `now`: an
    /// `operator_review` time entry (billable) beside the agents' execution entries.
    static func reviewTime(_ id: Int64, by reviewer: String, now: Date, in tx: PGConnection) throws {
        try tx.query(
            """
            INSERT INTO time_entries (project_id, task_id, operator_id, type, duration_ms, started_at, ended_at,
                                      description)
            SELECT d.project_id, d.task_id, $2, 'operator_review',
                   greatest(0, (extract(epoch FROM $3::timestamptz - d.created_at) * 1000)::bigint),
                   least(d.created_at, $3::timestamptz), $3::timestamptz, 'review of deliverable ' || d.id || ' (version ' || d.version || ')'
              FROM deliverables d WHERE d.id = $1
            """, [id, reviewer, now])
    }
}

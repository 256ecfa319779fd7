import BullpenDomain
import Foundation
import PostgreSQL

/// A version sent back: a revision asked for (the same agent revises it) or a rejection on quality (another
/// agent of the specialization does the work again). Either way a new task of the same work (its parent the
/// work's original task) is created and asked for dispatch, so its result opens the next version.
extension DeliverableStore {
    /// What sending a version back did.
    public struct Reworked: Sendable, Equatable {
        public var deliverableID: Int64
        public var status: DeliverableStatus
        public var projectID: Int64
        public var clientID: Int64
        /// The new task, and its dispatch (nil when no agent could take it now: the task waits, pending).
        public var taskID: Int64
        public var dispatch: TaskDispatching.Requested?
        /// Why it was not dispatched.
        public var notDispatched: String?
        /// A revision: the project's rounds so far, and whether the client saw the version (and is told).
        public var revisionRound: Int?
        public var clientEmail: String?
        public var wasDelivered = false
        public var title: String
    }

    /// The version as ``ReviewDecider`` reads it, locked with its project: the agent that produced it, the work
    /// (its original task: title, brief, type, specialization, priority), the project's revision rounds; and
    /// the client's address, for telling it.
    static func lockVersion(_ id: Int64, in tx: PGConnection) throws -> (ReviewDecider.Version, clientEmail: String?) {
        guard
            let row = try tx.query(
                """
                SELECT d.status, d.title, d.task_id, w.id AS work, t.assigned_agent_id,
                       coalesce(a.status, 'offline') AS agent_status,
                       w.title AS task_title, w.description, w.task_type, w.required_specialization, w.priority,
                       p.id AS project_id, p.client_id, p.status AS project_status, p.max_revisions,
                       p.revision_count, c.email
                  FROM deliverables d
                  JOIN tasks t ON t.id = d.task_id
                  JOIN tasks w ON w.id = coalesce(t.parent_task_id, t.id)
                  JOIN projects p ON p.id = d.project_id
                  JOIN clients c ON c.id = p.client_id
                  LEFT JOIN agents a ON a.id = t.assigned_agent_id
                 WHERE d.id = $1
                   FOR UPDATE OF d, p
                """, [id]
            ).first
        else { throw CommandRejection("deliverable \(id) does not exist, or no task produced it") }
        let version = ReviewDecider.Version(
            id: id, status: DeliverableStatus(rawValue: try row.decode("status")) ?? .rejected,
            title: try row.decode("title"), taskID: try row.decode("task_id"), work: try row.decode("work"),
            agentID: try row.decode("assigned_agent_id", as: Int64?.self),
            agentTakesWork: AgentStatus(rawValue: try row.decode("agent_status"))?.takesWork ?? false,
            taskTitle: try row.decode("task_title"), taskDescription: try row.decode("description", as: String?.self),
            taskType: try row.decode("task_type", as: String?.self).flatMap(TaskType.init(rawValue:)),
            specialization: try row.decode("required_specialization", as: String?.self).flatMap(
                Specialization.init(rawValue:)),
            priority: try row.decode("priority"), projectID: try row.decode("project_id"),
            clientID: try row.decode("client_id"),
            projectStatus: ProjectStatus(rawValue: try row.decode("project_status")) ?? .archived,
            maxRevisions: try row.decode("max_revisions", as: Int?.self),
            revisionCount: try row.decode("revision_count"))
        return (version, try row.decode("email", as: String?.self))
    }

    /// `deliverable.request_revision` (by an operator, or by the client for a version delivered to it), as
    /// ``ReviewDecider/revision(_:of:clientID:)`` decides: the version is marked (rejected if the client never
    /// saw it, delivered stays delivered), the project's count rises (a delivered project opens again), and a
    /// revision task at priority 5 goes to the agent that made the version (or, not taking work, to the one
    /// routing picks). Its revision-due SLA starts now.
    public static func requestRevision(
        _ request: DeliverableRevisionRequest, clientID: Int64? = nil, messageID: String, now: Date,
        in tx: PGConnection
    ) throws -> Reworked {
        let (version, email) = try lockVersion(request.id, in: tx)
        let revision = try ReviewDecider.revision(request, of: version, clientID: clientID)
        if revision.endsReview { try reviewTime(request.id, by: revision.requester, now: now, in: tx) }
        // Delivered work asked again reopens the project (through the one writer of its status).
        if revision.reopensProject {
            try ProjectStatusWriter.move(version.projectID, on: .reopen, messageID: messageID, in: tx)
        }
        try tx.query(
            """
            WITH marked AS (
                UPDATE deliverables SET status = $2, revision_requested_at = now(), revision_notes = $3 WHERE id = $1
            )
            UPDATE projects SET revision_count = revision_count + 1 WHERE id = $4
            """, [request.id, revision.status.rawValue, request.notes, version.projectID])
        try EventLog.record(
            "deliverable.revision_requested",
            "Revision of deliverable \(request.id) requested by the \(revision.requester) (\(revision.terms))",
            data: String(
                decoding: try JSONBody.encode([
                    "requestedBy": revision.requester, "overrideReason": request.overrideReason,
                ]),
                as: UTF8.self),
            about: .init(clientID: version.clientID, projectID: version.projectID, taskID: version.taskID),
            messageID: messageID, in: tx)
        var reworked = try redo(
            version, revision.rework, clientEmail: email, deliverableID: request.id, status: revision.status,
            messageID: messageID, now: now, in: tx)
        try SLAStore.open(.revisionDue, projectID: version.projectID, taskID: reworked.taskID, now: now, in: tx)
        try ProjectStatusWriter.settle(projects: [version.projectID], messageID: messageID, in: tx)
        reworked.revisionRound = revision.round
        reworked.wasDelivered = revision.tellsClient
        return reworked
    }

    /// `deliverable.reject`, as ``ReviewDecider/rejection(_:of:agents:)`` decides: the version in review fails
    /// on quality. The agent that made it has one completed task fewer and one failure more (its failure rate),
    /// a quality event is recorded, and the work goes to a different agent of its specialization.
    public static func reject(
        _ rejection: DeliverableRejection, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Reworked {
        let (version, email) = try lockVersion(rejection.id, in: tx)
        let decided = try ReviewDecider.rejection(
            rejection, of: version, agents: try TaskDispatching.candidates(in: tx))
        try reviewTime(rejection.id, by: "operator", now: now, in: tx)
        try tx.query(
            """
            WITH marked AS (
                UPDATE deliverables SET status = $2, reviewed_by = 'operator', review_notes = $3 WHERE id = $1
            )
            UPDATE agents
               SET total_tasks_completed = greatest(total_tasks_completed - 1, 0),
                   total_tasks_failed = total_tasks_failed + 1,
                   failure_rate = (total_tasks_failed + 1)::float8
                       / (greatest(total_tasks_completed - 1, 0) + total_tasks_failed + 1)
             WHERE id = $4
            """, [rejection.id, decided.status.rawValue, rejection.notes, version.agentID])
        try EventLog.record(
            "agent.quality_failure", "Deliverable \(rejection.id) rejected in review: \(rejection.notes.prefix(200))",
            data: "{\"deliverableId\": \(rejection.id)}",
            about: .init(
                clientID: version.clientID, projectID: version.projectID, taskID: version.taskID,
                agentID: version.agentID),
            messageID: messageID, in: tx)
        return try redo(
            version, decided.rework, clientEmail: email, deliverableID: rejection.id, status: decided.status,
            messageID: messageID, now: now, in: tx)
    }

    /// Creates the new task of the work and asks for its dispatch; a dispatch the rules refuse now (no agent
    /// online) leaves the task pending with the reason, and the decision stands.
    private static func redo(
        _ version: ReviewDecider.Version, _ rework: ReviewDecider.Rework, clientEmail: String?, deliverableID: Int64,
        status: DeliverableStatus, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Reworked {
        let draft = TaskPlanning.Draft(
            title: rework.title, description: rework.description, taskType: rework.taskType,
            requiredSpecialization: rework.specialization, priority: rework.priority, estimatedDurationMs: nil,
            dependsOn: [], parentTaskID: version.work)
        let project = try TaskPlanning.openProject(version.projectID, in: tx)
        let taskID = try TaskPlanning.insert(draft, into: project, messageID: messageID, now: now, in: tx)
        var reworked = Reworked(
            deliverableID: deliverableID, status: status, projectID: version.projectID, clientID: version.clientID,
            taskID: taskID, clientEmail: clientEmail, title: version.title)
        try tx.execute("SAVEPOINT redo_dispatch")
        do {
            reworked.dispatch = try TaskDispatching.request(
                TaskDispatch(id: taskID, agentId: rework.agentID, priority: rework.dispatchPriority),
                messageID: messageID,
                now: now, in: tx)
            try tx.execute("RELEASE SAVEPOINT redo_dispatch")
        } catch let refusal as CommandRejection {
            try tx.execute("ROLLBACK TO SAVEPOINT redo_dispatch")
            reworked.notDispatched = refusal.reason
        }
        return reworked
    }

    /// `deliverable.feedback`: the client's words and rating on a version delivered to it.
    public static func feedback(
        _ feedback: DeliverableFeedback, clientID: Int64, messageID: String, in tx: PGConnection
    ) throws -> (projectID: Int64, taskID: Int64?) {
        guard
            let row = try tx.query(
                """
                UPDATE deliverables d
                   SET client_feedback = coalesce($2, d.client_feedback), client_rating = coalesce($3, d.client_rating)
                  FROM projects p
                 WHERE d.id = $1 AND p.id = d.project_id AND p.client_id = $4 AND d.client_visible
                RETURNING d.project_id, d.task_id
                """, [feedback.id, feedback.feedback, feedback.rating, clientID]
            ).first
        else { throw CommandRejection("deliverable \(feedback.id) was not delivered to you") }
        let about = (
            projectID: try row.decode("project_id", as: Int64.self), taskID: try row.decode("task_id", as: Int64?.self)
        )
        try EventLog.record(
            "deliverable.feedback",
            "The client rated deliverable \(feedback.id)" + (feedback.rating.map { " \($0) of 5" } ?? "")
                + (feedback.feedback.map { ": \($0.prefix(200))" } ?? ""),
            data: String(
                decoding: try JSONBody.encode([
                    "rating": feedback.rating.map(String.init), "feedback": feedback.feedback,
                ]),
                as: UTF8.self),
            about: .init(clientID: clientID, projectID: about.projectID, taskID: about.taskID), messageID: messageID,
            in: tx)
        return about
    }
}

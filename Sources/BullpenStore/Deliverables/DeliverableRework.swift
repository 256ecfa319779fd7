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

    /// The version, locked with its project; the agent that produced it; the work (its original task: title,
    /// brief, type, specialization, priority), which a revision or a redo inherits.
    struct SentBack {
        let status: DeliverableStatus
        let title: String
        let taskID: Int64
        /// The work's original task: the parent of every revision and redo.
        let work: Int64
        let agentID: Int64?
        let taskTitle: String
        let taskDescription: String?
        let taskType: TaskType?
        let specialization: Specialization?
        let priority: Int
        let projectID: Int64
        let clientID: Int64
        let clientEmail: String?
        let projectStatus: ProjectStatus
        let maxRevisions: Int?
        let revisionCount: Int

        /// The specialization the work needs (the one it required, or its type's).
        var needed: Specialization? { AgentRouting.specialization(required: specialization, taskType: taskType) }
    }

    static func lockSentBack(_ id: Int64, in tx: PGConnection) throws -> SentBack {
        guard
            let row = try tx.query(
                """
                SELECT d.status, d.title, d.task_id, w.id AS work, t.assigned_agent_id,
                       w.title AS task_title, w.description, w.task_type, w.required_specialization, w.priority,
                       p.id AS project_id, p.client_id, p.status AS project_status, p.max_revisions,
                       p.revision_count, c.email
                  FROM deliverables d
                  JOIN tasks t ON t.id = d.task_id
                  JOIN tasks w ON w.id = coalesce(t.parent_task_id, t.id)
                  JOIN projects p ON p.id = d.project_id
                  JOIN clients c ON c.id = p.client_id
                 WHERE d.id = $1
                   FOR UPDATE OF d, p
                """, [id]
            ).first
        else { throw CommandRejection("deliverable \(id) does not exist, or no task produced it") }
        return SentBack(
            status: DeliverableStatus(rawValue: try row.decode("status")) ?? .rejected,
            title: try row.decode("title"), taskID: try row.decode("task_id"), work: try row.decode("work"),
            agentID: try row.decode("assigned_agent_id", as: Int64?.self), taskTitle: try row.decode("task_title"),
            taskDescription: try row.decode("description", as: String?.self),
            taskType: try row.decode("task_type", as: String?.self).flatMap(TaskType.init(rawValue:)),
            specialization: try row.decode("required_specialization", as: String?.self).flatMap(
                Specialization.init(rawValue:)),
            priority: try row.decode("priority"), projectID: try row.decode("project_id"),
            clientID: try row.decode("client_id"), clientEmail: try row.decode("email", as: String?.self),
            projectStatus: ProjectStatus(rawValue: try row.decode("project_status")) ?? .archived,
            maxRevisions: try row.decode("max_revisions", as: Int?.self),
            revisionCount: try row.decode("revision_count"))
    }

    static func step(_ id: Int64, _ status: DeliverableStatus, _ event: DeliverableEvent) throws -> DeliverableStatus {
        switch DeliverableLifecycle.next(from: status, on: event) {
        case .success(let next): return next
        case .failure(let refusal): throw CommandRejection("deliverable \(id): \(refusal)")
        }
    }

    /// `deliverable.request_revision` (by an operator, or by the client for a version delivered to it): within the
    /// plan's revision rounds or past them with the operator's reason. The version is marked (rejected if the
    /// client never saw it, delivered stays delivered), the project's count rises (a delivered project opens
    /// again), and a revision task at priority 5 goes to the agent that made the version (or, offline, to the
    /// one routing picks). Its revision-due SLA starts now.
    ///
    /// A client (`clientID`) asks only about a version delivered to it, and cannot go past the plan's rounds.
    public static func requestRevision(
        _ request: DeliverableRevisionRequest, clientID: Int64? = nil, messageID: String, now: Date,
        in tx: PGConnection
    ) throws -> Reworked {
        let version = try lockSentBack(request.id, in: tx)
        if let clientID {
            guard version.clientID == clientID, version.status == .delivered else {
                throw CommandRejection("deliverable \(request.id) was not delivered to you")
            }
            guard request.overrideReason == nil else {
                throw CommandRejection("only an operator can allow a revision past the plan's rounds")
            }
        }
        let requester = clientID == nil ? "operator" : "client"
        let status = try step(request.id, version.status, .requestRevision)
        if clientID == nil, version.status == .review { try reviewTime(request.id, by: requester, now: now, in: tx) }
        let grant: RevisionAllowance.Grant
        switch RevisionAllowance.check(
            used: version.revisionCount, limit: version.maxRevisions, overrideReason: request.overrideReason)
        {
        case .success(let granted): grant = granted
        case .failure(let refusal): throw CommandRejection("project \(version.projectID): \(refusal)")
        }
        // Delivered work asked again reopens the project (through the one writer of its status).
        if version.projectStatus == .delivered {
            try ProjectStatusWriter.move(version.projectID, on: .reopen, messageID: messageID, in: tx)
        }
        try tx.query(
            """
            WITH marked AS (
                UPDATE deliverables SET status = $2, revision_requested_at = now(), revision_notes = $3 WHERE id = $1
            )
            UPDATE projects SET revision_count = revision_count + 1 WHERE id = $4
            """, [request.id, status.rawValue, request.notes, version.projectID])
        let round = version.revisionCount + 1
        let terms: String
        switch grant {
        case .withinPlan: terms = version.maxRevisions.map { "round \(round) of \($0)" } ?? "round \(round)"
        case .overridden(let reason): terms = "round \(round), past the plan's \(version.maxRevisions ?? 0): \(reason)"
        }
        try EventLog.record(
            "deliverable.revision_requested",
            "Revision of deliverable \(request.id) requested by the \(requester) (\(terms))",
            data: String(
                decoding: try JSONBody.encode(["requestedBy": requester, "overrideReason": request.overrideReason]),
                as: UTF8.self),
            about: .init(clientID: version.clientID, projectID: version.projectID, taskID: version.taskID),
            messageID: messageID, in: tx)
        var agent = version.agentID
        if let id = agent,
            try tx.query("SELECT 1 FROM agents WHERE id = $1 AND status IN ('online', 'busy')", [id]).first == nil
        {
            agent = nil
        }
        var reworked = try redo(
            version,
            TaskPlanning.Draft(
                title: String("Revision \(round): \(version.taskTitle)".prefix(300)), description: request.notes,
                taskType: .revision, requiredSpecialization: version.needed, priority: TaskPriority.range.upperBound,
                estimatedDurationMs: nil, dependsOn: [], parentTaskID: version.work),
            agent: agent, priority: TaskPriority.range.upperBound, deliverableID: request.id, status: status,
            messageID: messageID, now: now, in: tx)
        try SLAStore.open(.revisionDue, projectID: version.projectID, taskID: reworked.taskID, now: now, in: tx)
        try ProjectStatusWriter.settle(projects: [version.projectID], messageID: messageID, in: tx)
        reworked.revisionRound = round
        reworked.wasDelivered = version.status == .delivered
        return reworked
    }

    /// `deliverable.reject`: the version in review fails on quality. The agent that made it has one completed
    /// task fewer and one failure more (its failure rate), a quality event is recorded, and the work goes to a
    /// different agent of its specialization; refused when no other such agent is online.
    public static func reject(
        _ rejection: DeliverableRejection, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Reworked {
        let version = try lockSentBack(rejection.id, in: tx)
        let status = try step(rejection.id, version.status, .reject)
        try reviewTime(rejection.id, by: "operator", now: now, in: tx)
        let others = try TaskDispatching.candidates(in: tx).filter { $0.id != version.agentID }
        guard let chosen = AgentRouting.choose(others, specialization: version.needed, clientID: version.clientID)
        else {
            throw CommandRejection(
                "no other agent\(version.needed.map { " with specialization \($0.rawValue)" } ?? "") is online to"
                    + " do the work again; deliverable \(rejection.id) stays in review")
        }
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
            """, [rejection.id, status.rawValue, rejection.notes, version.agentID])
        try EventLog.record(
            "agent.quality_failure", "Deliverable \(rejection.id) rejected in review: \(rejection.notes.prefix(200))",
            data: "{\"deliverableId\": \(rejection.id)}",
            about: .init(
                clientID: version.clientID, projectID: version.projectID, taskID: version.taskID,
                agentID: version.agentID),
            messageID: messageID, in: tx)
        let brief = [version.taskDescription, "A previous version was rejected in review: \(rejection.notes)"]
            .compactMap { $0 }.joined(separator: "\n\n")
        return try redo(
            version,
            TaskPlanning.Draft(
                title: version.taskTitle, description: String(brief.prefix(10000)), taskType: version.taskType,
                requiredSpecialization: version.needed, priority: version.priority, estimatedDurationMs: nil,
                dependsOn: [], parentTaskID: version.work),
            agent: chosen.id, priority: nil, deliverableID: rejection.id, status: status, messageID: messageID,
            now: now, in: tx)
    }

    /// Creates the new task of the work and asks for its dispatch; a dispatch the rules refuse now (no agent
    /// online) leaves the task pending with the reason, and the decision stands.
    private static func redo(
        _ version: SentBack, _ draft: TaskPlanning.Draft, agent: Int64?, priority: Int?, deliverableID: Int64,
        status: DeliverableStatus, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Reworked {
        let project = try TaskPlanning.openProject(version.projectID, in: tx)
        let taskID = try TaskPlanning.insert(draft, into: project, messageID: messageID, now: now, in: tx)
        var reworked = Reworked(
            deliverableID: deliverableID, status: status, projectID: version.projectID, clientID: version.clientID,
            taskID: taskID, clientEmail: version.clientEmail, title: version.title)
        try tx.execute("SAVEPOINT redo_dispatch")
        do {
            reworked.dispatch = try TaskDispatching.request(
                TaskDispatch(id: taskID, agentId: agent, priority: priority), messageID: messageID, now: now, in: tx)
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

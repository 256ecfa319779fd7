import Foundation

/// A reviewer's decisions on a version, with no I/O: approve and deliver (the steps through the deliverable
/// lifecycle), ask for a revision (within the plan's rounds, or past them on an operator's word; the same agent
/// revises if it still takes work), and reject on quality (another agent of the work's specialization does it
/// again). The store loads a ``Version`` (its row and its project's locked), this decides, the store writes.
public enum ReviewDecider {
    /// A version as the rules read it: its own state, the work it answers, its project's revision rounds.
    public struct Version: Sendable, Equatable {
        public var id: Int64
        public var status: DeliverableStatus
        public var title: String
        /// The task that produced it.
        public var taskID: Int64
        /// The work's original task: the parent of every revision and redo.
        public var work: Int64
        /// The agent that produced it, and whether it takes work now.
        public var agentID: Int64?
        public var agentTakesWork: Bool
        /// The work's original task: what a revision or a redo inherits.
        public var taskTitle: String
        public var taskDescription: String?
        public var taskType: TaskType?
        public var specialization: Specialization?
        public var priority: Int
        public var projectID: Int64
        public var clientID: Int64
        public var projectStatus: ProjectStatus
        /// The plan's revision rounds (nil: unlimited), and the rounds opened so far.
        public var maxRevisions: Int?
        public var revisionCount: Int

        public init(
            id: Int64, status: DeliverableStatus, title: String = "Draft", taskID: Int64, work: Int64? = nil,
            agentID: Int64? = nil, agentTakesWork: Bool = true, taskTitle: String = "Draft",
            taskDescription: String? = nil, taskType: TaskType? = .draft, specialization: Specialization? = nil,
            priority: Int = 3, projectID: Int64, clientID: Int64, projectStatus: ProjectStatus = .review,
            maxRevisions: Int? = nil, revisionCount: Int = 0
        ) {
            self.id = id
            self.status = status
            self.title = title
            self.taskID = taskID
            self.work = work ?? taskID
            self.agentID = agentID
            self.agentTakesWork = agentTakesWork
            self.taskTitle = taskTitle
            self.taskDescription = taskDescription
            self.taskType = taskType
            self.specialization = specialization
            self.priority = priority
            self.projectID = projectID
            self.clientID = clientID
            self.projectStatus = projectStatus
            self.maxRevisions = maxRevisions
            self.revisionCount = revisionCount
        }

        /// The specialization the work needs (the one it required, or its type's).
        public var needed: Specialization? {
            AgentRouting.specialization(required: specialization, taskType: taskType)
        }
    }

    /// The new task of the work that sending a version back makes, and whom to ask for its dispatch.
    public struct Rework: Sendable, Equatable {
        public var title: String
        public var description: String?
        public var taskType: TaskType?
        public var specialization: Specialization?
        public var priority: Int
        /// The agent to dispatch it to; nil lets routing choose.
        public var agentID: Int64?
        /// The dispatch priority to ask for; nil for the rules'.
        public var dispatchPriority: Int?
    }

    // MARK: approve and deliver

    /// The status a version reaches: approved, or (`deliver`) delivered, through every step between.
    public static func decide(
        _ id: Int64, from status: DeliverableStatus, deliver: Bool
    ) throws(CommandRejection)
        -> DeliverableStatus
    {
        var steps: [DeliverableEvent] = status == .approved && deliver ? [.deliver] : [.approve]
        if deliver && status != .approved { steps.append(.deliver) }
        var reached = status
        for event in steps { reached = try step(id, reached, event) }
        return reached
    }

    static func step(
        _ id: Int64, _ status: DeliverableStatus, _ event: DeliverableEvent
    ) throws(CommandRejection) -> DeliverableStatus {
        switch DeliverableLifecycle.next(from: status, on: event) {
        case .success(let next): return next
        case .failure(let refusal): throw CommandRejection("deliverable \(id): \(refusal)")
        }
    }

    // MARK: a revision

    /// What a revision request decided.
    public struct Revision: Sendable, Equatable {
        public var status: DeliverableStatus
        /// "operator" or "client".
        public var requester: String
        /// The project's round this opens, and on what terms ("round 2 of 3").
        public var round: Int
        public var terms: String
        /// The version was waiting for review: the reviewer's time is recorded.
        public var endsReview: Bool
        /// The project was delivered: it opens again.
        public var reopensProject: Bool
        /// The client saw the version, and is told a revision is under way.
        public var tellsClient: Bool
        public var rework: Rework
    }

    /// `deliverable.request_revision` by an operator, or by the client (`clientID`) for a version delivered to
    /// it and within the plan's rounds.
    public static func revision(
        _ request: DeliverableRevisionRequest, of version: Version, clientID: Int64?
    ) throws(CommandRejection) -> Revision {
        if let clientID {
            guard version.clientID == clientID, version.status == .delivered else {
                throw CommandRejection("deliverable \(request.id) was not delivered to you")
            }
            guard request.overrideReason == nil else {
                throw CommandRejection("only an operator can allow a revision past the plan's rounds")
            }
        }
        let status = try step(request.id, version.status, .requestRevision)
        let grant: RevisionAllowance.Grant
        switch RevisionAllowance.check(
            used: version.revisionCount, limit: version.maxRevisions, overrideReason: request.overrideReason)
        {
        case .success(let granted): grant = granted
        case .failure(let refusal): throw CommandRejection("project \(version.projectID): \(refusal)")
        }
        let round = version.revisionCount + 1
        let terms: String
        switch grant {
        case .withinPlan: terms = version.maxRevisions.map { "round \(round) of \($0)" } ?? "round \(round)"
        case .overridden(let reason): terms = "round \(round), past the plan's \(version.maxRevisions ?? 0): \(reason)"
        }
        let top = TaskPriority.range.upperBound
        return Revision(
            status: status, requester: clientID == nil ? "operator" : "client", round: round, terms: terms,
            endsReview: clientID == nil && version.status == .review,
            reopensProject: version.projectStatus == .delivered,
            tellsClient: version.status == .delivered,
            rework: Rework(
                title: String("Revision \(round): \(version.taskTitle)".prefix(300)), description: request.notes,
                taskType: .revision, specialization: version.needed, priority: top,
                agentID: version.agentTakesWork ? version.agentID : nil, dispatchPriority: top))
    }

    // MARK: a rejection

    /// What a rejection decided.
    public struct Rejection: Sendable, Equatable {
        public var status: DeliverableStatus
        public var rework: Rework
    }

    /// `deliverable.reject`: the version in review fails on quality, and the work goes to another agent of its
    /// specialization (routing among `agents`, the one that made it left out); refused when none can take it.
    public static func rejection(
        _ rejection: DeliverableRejection, of version: Version, agents: [AgentCandidate]
    ) throws(CommandRejection) -> Rejection {
        let status = try step(rejection.id, version.status, .reject)
        guard
            let chosen = AgentRouting.choose(
                agents.filter { $0.id != version.agentID }, specialization: version.needed, clientID: version.clientID)
        else {
            throw CommandRejection(
                "no other agent\(version.needed.map { " with specialization \($0.rawValue)" } ?? "") is online to"
                    + " do the work again; deliverable \(rejection.id) stays in review")
        }
        let brief = [version.taskDescription, "A previous version was rejected in review: \(rejection.notes)"]
            .compactMap { $0 }.joined(separator: "\n\n")
        return Rejection(
            status: status,
            rework: Rework(
                title: version.taskTitle, description: String(brief.prefix(10000)), taskType: version.taskType,
                specialization: version.needed, priority: version.priority, agentID: chosen.id,
                dispatchPriority: nil))
    }
}

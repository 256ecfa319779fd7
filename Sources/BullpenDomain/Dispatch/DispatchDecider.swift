import Foundation

/// Whether a task may be asked for its dispatch now, to which agent and at what priority: the rules of
/// `task.dispatch`, with no I/O. The store loads a ``Snapshot`` (the task's row locked), this decides, and the
/// store writes the ``Decision``, its reasons on the `task.dispatch_requested` event for anyone who asks why
/// the task went where it went. Claiming a slot on the agent is ``SlotAllocation``'s rule, later.
public enum DispatchDecider {
    /// What the rules read of a task, its project and the agents.
    public struct Snapshot: Sendable, Equatable {
        public var taskID: Int64
        public var status: TaskStatus
        public var projectID: Int64?
        public var clientID: Int64?
        public var assignedAgentID: Int64?
        /// The priority the task was given (at creation, by the rules then or by the operator).
        public var taskPriority: Int
        public var taskType: TaskType?
        public var requiredSpecialization: Specialization?
        /// The work it belongs to: the task it revises, or itself.
        public var work: Int64
        /// An attempt of it is open (a dispatch under way).
        public var openAttempt: Bool
        /// The plan's base priority, as its project copied it; nil for internal work.
        public var planPriority: Int?
        public var deadline: Date?
        /// The tasks it depends on that have not completed, in id order.
        public var unfinishedDependencies: [Int64]
        /// The project's subscription and its use this period; nil when there is none.
        public var standing: UsageHold.Standing?
        /// Every agent as routing sees it.
        public var agents: [AgentCandidate]

        public init(
            taskID: Int64, status: TaskStatus, projectID: Int64? = nil, clientID: Int64? = nil,
            assignedAgentID: Int64? = nil, taskPriority: Int = 3, taskType: TaskType? = nil,
            requiredSpecialization: Specialization? = nil, work: Int64? = nil, openAttempt: Bool = false,
            planPriority: Int? = nil, deadline: Date? = nil, unfinishedDependencies: [Int64] = [],
            standing: UsageHold.Standing? = nil, agents: [AgentCandidate] = []
        ) {
            self.taskID = taskID
            self.status = status
            self.projectID = projectID
            self.clientID = clientID
            self.assignedAgentID = assignedAgentID
            self.taskPriority = taskPriority
            self.taskType = taskType
            self.requiredSpecialization = requiredSpecialization
            self.work = work ?? taskID
            self.openAttempt = openAttempt
            self.planPriority = planPriority
            self.deadline = deadline
            self.unfinishedDependencies = unfinishedDependencies
            self.standing = standing
            self.agents = agents
        }
    }

    /// A billing hold an operator's override let through.
    public struct Override: Sendable, Equatable {
        public var hold: String
        public var reason: String
    }

    /// What the request decided.
    public struct Decision: Sendable, Equatable {
        public var agentID: Int64
        public var priority: Int
        public var overridden: Override?
        /// Why, one line per rule that decided: the agent, the priority, a hold let through.
        public var reasons: [String]
    }

    /// The decision for `dispatch` on `snapshot` at `now`, or the rejection that says which rule refused it.
    public static func request(
        _ dispatch: TaskDispatch, _ snapshot: Snapshot, now: Date
    ) throws(CommandRejection) -> Decision {
        let id = snapshot.taskID
        let waitingFor = snapshot.unfinishedDependencies
        guard waitingFor.isEmpty else {
            throw CommandRejection(
                "task \(id) waits for task\(waitingFor.count == 1 ? "" : "s") "
                    + waitingFor.map(String.init).joined(separator: ", ") + " to complete")
        }
        var reasons: [String] = []
        var overridden: Override?
        if let standing = snapshot.standing,
            let held = UsageHold.reason(
                standing, producesDeliverable: snapshot.taskType != .revision && snapshot.work == id)
        {
            guard let reason = dispatch.overrideReason else {
                throw CommandRejection(
                    "task \(id) is held: \(held); an operator may dispatch it with an override reason")
            }
            overridden = Override(hold: held, reason: reason)
            reasons.append("held (\(held)), dispatched by an operator's override: \(reason)")
        }
        let agentID: Int64
        switch snapshot.status {
        case .pending:
            if let chosen = dispatch.agentId {
                agentID = chosen
                reasons.append("agent \(chosen): named by the operator")
            } else {
                let needed = AgentRouting.specialization(
                    required: snapshot.requiredSpecialization, taskType: snapshot.taskType)
                guard
                    let chosen = AgentRouting.choose(
                        snapshot.agents, specialization: needed, clientID: snapshot.clientID)
                else {
                    throw CommandRejection(
                        "no agent can take task \(id): none is online"
                            + (needed.map { " with specialization \($0.rawValue)" } ?? ""))
                }
                agentID = chosen.id
                reasons.append(routed(chosen, needed: needed, clientID: snapshot.clientID))
            }
        case .assigned:
            guard !snapshot.openAttempt else { throw CommandRejection("task \(id) is being dispatched already") }
            guard let chosen = dispatch.agentId ?? snapshot.assignedAgentID else {
                throw CommandRejection("task \(id) has no agent")
            }
            agentID = chosen
            reasons.append(
                dispatch.agentId != nil
                    ? "agent \(chosen): named by the operator" : "agent \(chosen): assigned to it before")
        default:
            throw CommandRejection(
                "task \(id) is \(snapshot.status.rawValue); only a pending or assigned task can be dispatched")
        }
        guard let agent = snapshot.agents.first(where: { $0.id == agentID }) else {
            throw CommandRejection("there is no agent \(agentID)")
        }
        guard agent.status.takesWork else { throw CommandRejection("agent \(agentID) is \(agent.status.rawValue)") }
        let priority = TaskPriority.atDispatch(
            planPriority: snapshot.planPriority, taskType: snapshot.taskType, deadline: snapshot.deadline,
            taskPriority: snapshot.taskPriority, override: dispatch.priority, now: now)
        reasons.append(priorityReason(priority, dispatch: dispatch, snapshot, now: now))
        return Decision(agentID: agentID, priority: priority, overridden: overridden, reasons: reasons)
    }

    /// Why routing chose this agent.
    static func routed(_ agent: AgentCandidate, needed: Specialization?, clientID: Int64?) -> String {
        var why = ["routed"]
        if let clientID, agent.customForClientID == clientID { why.append("the client's own agent") }
        if let needed { why.append("specialization \(needed.rawValue)") }
        why.append(
            agent.hasRoom
                ? "\(agent.openRuns) of \(agent.maxConcurrentTasks) slots in use"
                : "at capacity (\(agent.openRuns) of \(agent.maxConcurrentTasks)): the task waits in its line")
        why.append("failure rate \(Int((agent.failureRate * 100).rounded())) %")
        return "agent \(agent.id): " + why.joined(separator: ", ")
    }

    /// Which rule set the priority.
    static func priorityReason(_ priority: Int, dispatch: TaskDispatch, _ snapshot: Snapshot, now: Date) -> String {
        if dispatch.priority != nil { return "priority \(priority): the operator's override" }
        let rules = TaskPriority.default(
            planPriority: snapshot.planPriority, taskType: snapshot.taskType, deadline: snapshot.deadline, now: now)
        guard rules >= snapshot.taskPriority else { return "priority \(priority): the task's own" }
        var why: [String] = [snapshot.planPriority.map { "the plan's \($0)" } ?? "internal work, 1"]
        if snapshot.taskType == .revision { why.append("a revision, 5") }
        if snapshot.taskType == .review { why.append("a review, at least 4") }
        if let deadline = snapshot.deadline {
            let hours = deadline.timeIntervalSince(now) / 3600
            if hours < 8 {
                why.append("the deadline under 8 hours away, 5")
            } else if hours < 24 {
                why.append("the deadline under 24 hours away, at least 4")
            }
        }
        return "priority \(priority): by the rules (" + why.joined(separator: "; ") + ")"
    }
}

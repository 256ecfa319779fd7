/// Decides what a batch of agent results does, from a snapshot the store loaded: pure, no I/O. A result for the
/// attempt a task is running settles it (completed or failed, through ``TaskLifecycle``); completed work
/// becomes the next version of its deliverable, in review, and the operators are told; a failure with retries
/// left goes back to its agent for a new attempt, one without is an alert; the closed run frees its agent for
/// its next waiting task and may release tasks that depended on it; each project touched moves to where its
/// work now says (``ProjectProgress``). The store performs the plan (``ResultDecider/Plan``) in one statement.
///
/// A result that cannot apply (its task unknown, at another attempt, or not running) is a refusal with the
/// reason; the caller parks it.
public enum ResultDecider {
    // MARK: what the store loads

    /// A result's task, locked by the load.
    public struct TaskSnapshot: Sendable, Equatable, Codable {
        public var id: Int64
        public var status: TaskStatus
        public var attempt: Int
        public var agentID: Int64?
        public var projectID: Int64?
        public var title: String
        /// The task priority (1...5), which a retry's dispatch waits at.
        public var priority: Int
        public var retryCount: Int
        public var maxRetries: Int
        /// The work whose versions this task makes: itself, or its parent for a revision task.
        public var workID: Int64
        public var workTitle: String
        /// The work's latest deliverable version, if any.
        public var latestVersionID: Int64?
        public var latestVersion: Int?

        public init(
            id: Int64, status: TaskStatus, attempt: Int, agentID: Int64? = nil, projectID: Int64? = nil,
            title: String, priority: Int = 3, retryCount: Int = 0, maxRetries: Int = 2, workID: Int64? = nil,
            workTitle: String? = nil,
            latestVersionID: Int64? = nil, latestVersion: Int? = nil
        ) {
            self.id = id
            self.status = status
            self.attempt = attempt
            self.agentID = agentID
            self.projectID = projectID
            self.title = title
            self.priority = priority
            self.retryCount = retryCount
            self.maxRetries = maxRetries
            self.workID = workID ?? id
            self.workTitle = workTitle ?? title
            self.latestVersionID = latestVersionID
            self.latestVersion = latestVersion
        }
    }

    /// A project of the batch's tasks, with its work apart from the batch's own tasks.
    public struct ProjectSnapshot: Sendable, Equatable, Codable {
        public var id: Int64
        public var clientID: Int64?
        public var status: ProjectStatus
        /// Whether any work is in each state (0 or 1), the batch's tasks left out.
        public var work: ProjectProgress.Work

        public init(id: Int64, clientID: Int64? = nil, status: ProjectStatus, work: ProjectProgress.Work = .init()) {
            self.id = id
            self.clientID = clientID
            self.status = status
            self.work = work
        }
    }

    /// An agent's next task waiting for a dispatch (assigned, dispatch requested, not of the batch).
    public struct WaitingTask: Sendable, Equatable, Codable {
        public var agentID: Int64
        public var taskID: Int64
        public var priority: Int

        public init(agentID: Int64, taskID: Int64, priority: Int) {
            self.agentID = agentID
            self.taskID = taskID
            self.priority = priority
        }
    }

    /// A task that depends on one of the batch's tasks, with its dependencies not yet completed.
    public struct Dependent: Sendable, Equatable, Codable {
        public var taskID: Int64
        public var projectID: Int64?
        public var status: TaskStatus
        public var unfinished: [Int64]

        public init(taskID: Int64, projectID: Int64? = nil, status: TaskStatus, unfinished: [Int64]) {
            self.taskID = taskID
            self.projectID = projectID
            self.status = status
            self.unfinished = unfinished
        }
    }

    /// Everything the decision reads, loaded in one statement; ids for the rows it may write, taken from their
    /// sequences beforehand, so the plan names them.
    public struct Snapshot: Sendable, Equatable, Codable {
        public var tasks: [TaskSnapshot]
        public var projects: [ProjectSnapshot]
        public var waiting: [WaitingTask]
        public var dependents: [Dependent]
        public var deliverableIDs: [Int64]
        public var notificationIDs: [Int64]

        public init(
            tasks: [TaskSnapshot], projects: [ProjectSnapshot] = [], waiting: [WaitingTask] = [],
            dependents: [Dependent] = [], deliverableIDs: [Int64] = [], notificationIDs: [Int64] = []
        ) {
            self.tasks = tasks
            self.projects = projects
            self.waiting = waiting
            self.dependents = dependents
            self.deliverableIDs = deliverableIDs
            self.notificationIDs = notificationIDs
        }
    }

    /// How many ids of each kind a batch may need: a version per completed result, an alert per result.
    public static func idsNeeded(_ results: [TaskResultMessage]) -> (deliverables: Int, notifications: Int) {
        (results.filter { $0.status == .completed }.count, results.count)
    }

    // MARK: the plan

    /// A task settled: its attempt closes with `outcome`; the task ends in `status` (the outcome, or assigned
    /// again for a retry). `output` and `error` as reported (the attempt keeps their digest); the task keeps
    /// the output of a completion and the error of a failure.
    public struct Settlement: Sendable, Equatable {
        public var taskID: Int64
        public var attempt: Int
        public var outcome: TaskStatus
        public var status: TaskStatus
        public var output: String?
        public var error: String?
        public var retried: Bool

        public init(
            taskID: Int64, attempt: Int, outcome: TaskStatus, status: TaskStatus, output: String?, error: String?,
            retried: Bool
        ) {
            self.taskID = taskID
            self.attempt = attempt
            self.outcome = outcome
            self.status = status
            self.output = output
            self.error = error
            self.retried = retried
        }
    }

    /// A new deliverable version, in review.
    public struct Version: Sendable, Equatable {
        public var id: Int64
        public var taskID: Int64
        public var projectID: Int64
        public var title: String
        public var content: String
        public var status: DeliverableStatus
        public var version: Int
        public var previousID: Int64?

        public init(
            id: Int64, taskID: Int64, projectID: Int64, title: String, content: String, status: DeliverableStatus,
            version: Int, previousID: Int64?
        ) {
            self.id = id
            self.taskID = taskID
            self.projectID = projectID
            self.title = title
            self.content = content
            self.status = status
            self.version = version
            self.previousID = previousID
        }
    }

    /// An events row.
    public struct Event: Sendable, Equatable {
        public var type: String
        public var message: String
        /// A JSON object.
        public var data: String
        public var agentID: Int64?
        public var projectID: Int64?
        public var taskID: Int64?
        public var deliverableID: Int64?
        public var clientID: Int64?
        public var messageID: String
    }

    /// A notification to write, under an id taken beforehand, sent at `priority`.
    public struct Notification: Sendable, Equatable {
        public var id: Int64
        public var draft: NotificationDraft
        public var priority: Int
    }

    /// A project's move, written only if the project is still in `from` (with its event then).
    public struct ProjectMove: Sendable, Equatable {
        public var projectID: Int64
        public var from: ProjectStatus
        public var to: ProjectStatus
        public var event: Event
    }

    /// Why a result cannot apply.
    public struct Refusal: Sendable, Equatable {
        public var taskID: Int64
        public var attempt: Int
        public var reason: String

        public init(taskID: Int64, attempt: Int, reason: String) {
            self.taskID = taskID
            self.attempt = attempt
            self.reason = reason
        }
    }

    /// What the batch does.
    public struct Plan: Sendable, Equatable {
        public var settlements: [Settlement] = []
        public var versions: [Version] = []
        public var events: [Event] = []
        public var notifications: [Notification] = []
        public var dispatches: [DispatchRequest] = []
        public var projectMoves: [ProjectMove] = []
        /// Tasks released by the batch that wait, pending, for someone to dispatch them.
        public var releasedPending: [Int64] = []
        public var refusals: [Refusal] = []

        public init() {}
    }

    // MARK: deciding

    public static func decide(_ results: [TaskResultMessage], _ snapshot: Snapshot) -> Plan {
        var plan = Plan()
        var tasks = Dictionary(snapshot.tasks.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var deliverableIDs = snapshot.deliverableIDs[...]
        var notificationIDs = snapshot.notificationIDs[...]
        /// Versions opened in this batch per work, so two results of one work number theirs in turn.
        var latest: [Int64: (id: Int64, version: Int)] = [:]
        var freedAgents: [(agentID: Int64, messageID: String)] = []
        var completed: Set<Int64> = []
        var retriedPerProject: [Int64: Int] = [:]
        var openedPerProject: [Int64: Int] = [:]

        func notify(_ draft: NotificationDraft, priority: Int) {
            guard let id = notificationIDs.popFirst() else {
                preconditionFailure("the snapshot holds fewer notification ids than idsNeeded said")
            }
            plan.notifications.append(Notification(id: id, draft: draft, priority: priority))
        }

        for result in results {
            let messageID = result.messageID
            guard var task = tasks[result.taskId] else {
                plan.refusals.append(
                    .init(
                        taskID: result.taskId, attempt: result.attempt,
                        reason: "task \(result.taskId) does not exist"))
                continue
            }
            guard task.attempt == result.attempt else {
                plan.refusals.append(
                    .init(
                        taskID: task.id, attempt: result.attempt,
                        reason:
                            "task \(task.id) is at attempt \(task.attempt); a result for attempt \(result.attempt) is stale"
                    ))
                continue
            }
            let event: TaskEvent = result.status == .completed ? .complete : .fail
            guard case .success(let outcome) = TaskLifecycle.next(from: task.status, on: event),
                task.status == .running
            else {
                plan.refusals.append(
                    .init(
                        taskID: task.id, attempt: result.attempt,
                        reason: "task \(task.id) is \(task.status.rawValue), not running; its result cannot apply"))
                continue
            }
            var settlement = Settlement(
                taskID: task.id, attempt: result.attempt, outcome: outcome, status: outcome,
                output: result.output, error: result.error, retried: false)
            plan.events.append(
                Event(
                    type: "task.\(outcome.rawValue)",
                    message: outcome == .completed
                        ? "Task \(task.id) completed (attempt \(result.attempt))"
                        : "Task \(task.id) failed (attempt \(result.attempt)): \(result.error ?? "")",
                    data: #"{"attempt": \#(result.attempt), "outputBytes": \#(result.output?.utf8.count ?? 0)}"#,
                    agentID: task.agentID, projectID: task.projectID, taskID: task.id, messageID: messageID))
            if let agent = task.agentID { freedAgents.append((agent, messageID)) }

            if outcome == .completed {
                completed.insert(task.id)
                if let projectID = task.projectID,
                    case .success(let review) = DeliverableLifecycle.next(from: .draft, on: .submitForReview)
                {
                    guard let id = deliverableIDs.popFirst() else {
                        preconditionFailure("the snapshot holds fewer deliverable ids than idsNeeded said")
                    }
                    let work = task.workID
                    let previous =
                        latest[work] ?? task.latestVersionID.map { ($0, task.latestVersion ?? 0) }
                    let version = Version(
                        id: id, taskID: task.id, projectID: projectID, title: task.workTitle,
                        content: result.output ?? "", status: review, version: (previous?.version ?? 0) + 1,
                        previousID: previous?.id)
                    latest[work] = (id, version.version)
                    plan.versions.append(version)
                    openedPerProject[projectID, default: 0] += 1
                    plan.events.append(
                        Event(
                            type: "deliverable.review",
                            message: "Deliverable \(id) (version \(version.version)) awaits review",
                            data: #"{"version": \#(version.version)}"#, projectID: projectID, taskID: task.id,
                            deliverableID: id, messageID: messageID))
                    notify(
                        .operatorAlert(
                            .reviewWaiting, cause: String(id), taskID: task.id, projectID: projectID,
                            data: [
                                "deliverableId": String(id), "title": version.title,
                                "version": String(version.version), "taskId": String(task.id),
                            ]),
                        priority: 3)
                }
            } else if result.aborted == true {
                // The operator who aborted it knows: no retry, no alert.
            } else if task.retryCount < task.maxRetries, task.agentID != nil,
                case .success(let pending) = TaskLifecycle.next(from: outcome, on: .retry),
                case .success(let assigned) = TaskLifecycle.next(from: pending, on: .assign)
            {
                settlement.status = assigned
                settlement.retried = true
                if let projectID = task.projectID { retriedPerProject[projectID, default: 0] += 1 }
                plan.events.append(
                    Event(
                        type: "task.retrying",
                        message:
                            "Task \(task.id) failed; retry \(task.retryCount + 1) of \(task.maxRetries) with a new attempt",
                        data: "{}", agentID: task.agentID, projectID: task.projectID, taskID: task.id,
                        messageID: messageID))
                plan.dispatches.append(
                    DispatchRequest(taskId: task.id, cause: "retry:\(messageID)", priority: task.priority))
            } else {
                notify(
                    .operatorAlert(
                        .taskFailed, cause: "\(task.id):\(result.attempt)", taskID: task.id, projectID: task.projectID,
                        data: [
                            "taskId": String(task.id), "title": task.title, "attempt": String(result.attempt),
                            "error": result.error ?? "",
                        ]),
                    priority: 4)
            }
            plan.settlements.append(settlement)
            task.status = settlement.status
            tasks[task.id] = task
        }

        // What the closed runs free: each agent's next waiting task, and the tasks whose every dependency is
        // now completed.
        var seenAgents: Set<Int64> = []
        let waiting = Dictionary(snapshot.waiting.map { ($0.agentID, $0) }, uniquingKeysWith: { a, _ in a })
        for (agent, messageID) in freedAgents where seenAgents.insert(agent).inserted {
            guard let next = waiting[agent] else { continue }
            plan.dispatches.append(
                DispatchRequest(taskId: next.taskID, cause: "release:\(messageID)", priority: next.priority))
        }
        var released: Set<Int64> = []
        for dependent in snapshot.dependents
        where !completed.isEmpty && Set(dependent.unfinished).isSubset(of: completed)
            && released.insert(dependent.taskID).inserted
        {
            plan.events.append(
                Event(
                    type: "task.released", message: "Task \(dependent.taskID) depends on nothing unfinished any more",
                    data: "{}", projectID: dependent.projectID, taskID: dependent.taskID,
                    messageID: results.first?.messageID ?? ""))
            if dependent.status == .pending { plan.releasedPending.append(dependent.taskID) }
        }

        // Each project touched, to where its work now says.
        for project in snapshot.projects {
            var work = project.work
            work.started += retriedPerProject[project.id] ?? 0
            work.awaiting += openedPerProject[project.id] ?? 0
            let status = ProjectProgress.reached(project.status, work)
            guard status != project.status else { continue }
            plan.projectMoves.append(
                ProjectMove(
                    projectID: project.id, from: project.status, to: status,
                    event: Event(
                        type: "project.\(status.rawValue)",
                        message: "Project \(project.id) is \(status.rawValue) (was \(project.status.rawValue))",
                        data: "{}", projectID: project.id, clientID: project.clientID,
                        messageID: results.first?.messageID ?? "")))
        }
        return plan
    }
}

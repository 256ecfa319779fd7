import Foundation

/// "Why is this task waiting?": the reasons a task is where it is, from what the system recorded when it
/// decided (the dispatch decider's reasons, a parked message's) and what holds now (its dependencies, a billing
/// hold, its agent's slots and its place in the agent's line, its open attempt). No I/O: the store loads a
/// ``Snapshot``.
public enum TaskExplanation {
    /// A task's agent as its line sees it.
    public struct Agent: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var status: AgentStatus
        public var openRuns: Int
        public var maxConcurrentTasks: Int

        public init(id: Int64, name: String, status: AgentStatus, openRuns: Int, maxConcurrentTasks: Int) {
            self.id = id
            self.name = name
            self.status = status
            self.openRuns = openRuns
            self.maxConcurrentTasks = maxConcurrentTasks
        }
    }

    /// The task's open attempt.
    public struct Attempt: Sendable, Equatable {
        public var number: Int
        public var openedAt: Date
        /// Set once the gateway accepted the run.
        public var sessionKey: String?
        public var deadlineAt: Date?

        public init(number: Int, openedAt: Date, sessionKey: String?, deadlineAt: Date?) {
            self.number = number
            self.openedAt = openedAt
            self.sessionKey = sessionKey
            self.deadlineAt = deadlineAt
        }
    }

    /// A run start waiting in a retry tier, as recorded when it went there.
    public struct Retry: Sendable, Equatable, Decodable {
        /// The task's attempt whose run start it is.
        public var attempt: Int
        public var tier: Int
        public var delaySeconds: Int
        /// The delivery it comes back as, and the last before it is parked.
        public var delivery: Int
        public var maxDeliveries: Int
        public var reason: String
        public var retryAt: Date

        public init(
            attempt: Int, tier: Int, delaySeconds: Int, delivery: Int, maxDeliveries: Int, reason: String, retryAt: Date
        ) {
            self.attempt = attempt
            self.tier = tier
            self.delaySeconds = delaySeconds
            self.delivery = delivery
            self.maxDeliveries = maxDeliveries
            self.reason = reason
            self.retryAt = retryAt
        }
    }

    public struct Snapshot: Sendable, Equatable {
        public var taskID: Int64
        public var status: TaskStatus
        public var error: String?
        public var retryCount: Int
        public var maxRetries: Int
        public var unfinishedDependencies: [Int64]
        /// A billing hold on the task's work now, if any.
        public var hold: String?
        /// Asked for its dispatch, and at what priority.
        public var dispatchPriority: Int?
        public var agent: Agent?
        /// Tasks waiting for the same agent that go before this one (higher priority, or asked earlier).
        public var ahead: Int
        public var attempt: Attempt?
        /// The reasons the dispatch decider gave, the last time it was asked.
        public var decided: [String]
        /// Why its messages were parked, newest first.
        public var parked: [String]
        /// Its run start's latest trip to a retry tier, if any.
        public var retry: Retry?
        /// Why its priority was raised, if it was.
        public var escalation: String?

        public init(
            taskID: Int64, status: TaskStatus, error: String? = nil, retryCount: Int = 0, maxRetries: Int = 2,
            unfinishedDependencies: [Int64] = [], hold: String? = nil, dispatchPriority: Int? = nil,
            agent: Agent? = nil, ahead: Int = 0, attempt: Attempt? = nil, decided: [String] = [],
            parked: [String] = [], retry: Retry? = nil, escalation: String? = nil
        ) {
            self.taskID = taskID
            self.status = status
            self.error = error
            self.retryCount = retryCount
            self.maxRetries = maxRetries
            self.unfinishedDependencies = unfinishedDependencies
            self.hold = hold
            self.dispatchPriority = dispatchPriority
            self.agent = agent
            self.ahead = ahead
            self.attempt = attempt
            self.decided = decided
            self.parked = parked
            self.retry = retry
            self.escalation = escalation
        }
    }

    /// The reasons, most important first.
    public static func reasons(_ task: Snapshot, now: Date) -> [String] {
        var reasons: [String] = []
        switch task.status {
        case .completed:
            reasons.append("completed")
        case .failed:
            reasons.append(
                "\(task.status.rawValue)" + (task.error.map { ": \($0)" } ?? "")
                    + " (retried \(task.retryCount) of \(task.maxRetries) times)")
        case .pending:
            if !task.unfinishedDependencies.isEmpty {
                reasons.append(
                    "waits for task\(task.unfinishedDependencies.count == 1 ? "" : "s") "
                        + task.unfinishedDependencies.map(String.init).joined(separator: ", ") + " to complete")
            } else if let hold = task.hold {
                reasons.append("held: \(hold); an operator may dispatch it with an override reason")
            } else {
                reasons.append(
                    "pending: nobody has asked for its dispatch yet (auto-dispatch sends it when an agent can take it)")
            }
        case .assigned:
            if let attempt = task.attempt, let retry = task.retry, retry.attempt == attempt.number {
                let wait = retry.retryAt > now ? "in \(seconds(since: now, now: retry.retryAt))" : "about now"
                reasons.append(
                    "attempt \(attempt.number)'s run start failed (\(retry.reason)) and waits in retry tier "
                        + "\(retry.tier) (\(retry.delaySeconds) s): it is tried again \(wait), delivery \(retry.delivery) "
                        + "of \(retry.maxDeliveries); after the last, it is parked and the operators are told")
            } else if let attempt = task.attempt {
                reasons.append(
                    "attempt \(attempt.number) opened \(seconds(since: attempt.openedAt, now: now)) ago: its run start "
                        + "is on its way to the gateway (retried through the dispatch queue's tiers if the gateway is down)"
                )
            } else if let agent = task.agent, task.dispatchPriority != nil {
                if !agent.status.takesWork {
                    reasons.append("waits for agent \(agent.name), which is \(agent.status.rawValue)")
                } else if agent.openRuns >= agent.maxConcurrentTasks {
                    reasons.append(
                        "waits for a slot on agent \(agent.name): it runs \(agent.openRuns) of \(agent.maxConcurrentTasks); "
                            + (task.ahead == 0
                                ? "this task is next in its line"
                                : task.ahead == 1 ? "1 task goes first" : "\(task.ahead) tasks go first")
                            + " (priority \(task.dispatchPriority!))")
                } else {
                    reasons.append("its dispatch request is on the dispatch queue (priority \(task.dispatchPriority!))")
                }
            } else if let agent = task.agent {
                reasons.append("assigned to agent \(agent.name); not yet asked for its dispatch")
            }
        case .running:
            if let attempt = task.attempt {
                reasons.append(
                    "running attempt \(attempt.number) on agent \(task.agent?.name ?? "?") for "
                        + seconds(since: attempt.openedAt, now: now)
                        + (attempt.deadlineAt.map {
                            $0 < now ? "; past its deadline, the stuck-run check will end it" : ""
                        }
                            ?? ""))
            } else {
                reasons.append("running")
            }
        }
        if task.retryCount > 0, task.status != .failed {
            reasons.append("retried \(task.retryCount) of \(task.maxRetries) times")
        }
        if let escalation = task.escalation { reasons.append("escalated: \(escalation)") }
        reasons += task.decided.map { "when its dispatch was asked: \($0)" }
        reasons += task.parked.map { "a message of it was parked: \($0)" }
        return reasons
    }

    static func seconds(since start: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        return "\(seconds / 3600) h"
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// `retention` (daily, once across the cluster): prunes what ``RetentionPolicy`` (`Config/retention.json`)
/// says Bullpen no longer needs, in small batches on a connection of its own (``Retention``), then records
/// what went in an event.
public struct RetentionJob: LongScheduledJob {
    public let name = "retention"
    public let policy: RetentionPolicy

    public init(policy: RetentionPolicy) { self.policy = policy }

    public func run(tick: Date, on db: PGConnection, stop: @escaping @Sendable () -> Bool) throws {
        let pruned = try Retention.prune(policy, now: tick, on: db, until: stop)
        let counts = Dictionary(uniqueKeysWithValues: pruned.map { ($0.table.rawValue, $0.rows) })
        let total = pruned.reduce(0) { $0 + $1.rows }
        try EventLog.record(
            "retention.pruned",
            "Retention removed \(total) rows: "
                + pruned.filter { $0.rows > 0 }.map { "\($0.rows) \($0.table.rawValue)" }.joined(separator: ", "),
            data: String(
                decoding: try JSONSerialization.data(withJSONObject: counts, options: [.sortedKeys]), as: UTF8.self),
            about: .init(), messageID: "retention:\(Int(tick.timeIntervalSince1970))", in: db)
    }
}

/// `heartbeat-check`: agents not heard from (listed by the gateway, a lifecycle hook, a run) for longer than
/// `limit` go offline, with an events row each, so routing stops sending them work (``AgentLiveness``; an
/// operator's status stands).
public struct HeartbeatCheckJob: ScheduledJob {
    public let name = "heartbeat-check"
    public let limit: Duration
    /// How long past its deadline an open attempt may stay before it is failed as lost without asking the
    /// gateway: a fallback for deployments where no worker holds a gateway connection. Workers that hold one
    /// ask the gateway first, 120 s past the deadline (``GatewayRoster/recoverStuck(now:)``). Default 30 min.
    public let stuckGrace: Duration

    public init(limit: Duration, stuckGrace: Duration = .seconds(1800)) {
        self.limit = limit
        self.stuckGrace = stuckGrace
    }

    public func run(tick: Date, in transaction: PGConnection) throws {
        let messageID = "heartbeat-check:\(Int(tick.timeIntervalSince1970))"
        let changes = try AgentLifecycleStore.checkLiveness(
            listed: nil, now: tick, limit: limit, messageID: messageID, in: transaction)
        // An agent taken offline for its silence: the operators told (once per time it goes silent).
        for case .offline(let agent, let reason) in changes {
            let name: String =
                try transaction.query("SELECT name FROM agents WHERE id = $1", [agent]).first?.decode("name") ?? "?"
            try Notify.operators(
                .agentSilent, cause: "\(agent):\(Int(tick.timeIntervalSince1970))", taskID: nil, projectID: nil,
                data: ["agentId": String(agent), "title": name, "reason": reason], priority: 4, in: transaction)
        }
        // Stuck attempts fail as a run that timed out: the same message as the callback's, so a result that
        // still comes is a no-op, and the review worker retries the task or fails it as for any failed run.
        for (task, attempt) in try TaskDispatching.stuckAttempts(grace: stuckGrace, limit: 500, in: transaction) {
            let report = TaskResultReport(
                taskId: task, status: .failed, output: nil,
                error: "the run was lost: no result, final reply or callback by its deadline")
            try Outbox.enqueue(
                TaskResultMessage(
                    report: report, attempt: attempt, receivedAt: Int64(tick.timeIntervalSince1970 * 1000)),
                in: transaction)
        }
    }
}

/// `auto-dispatch`: pending tasks whose dependencies are all complete are dispatched (routing picks the
/// agent), highest priority first, up to `batch` a tick; what no agent can take now waits for the next tick.
/// Catches what a completion's release missed. Off, it does nothing.
public struct AutoDispatchJob: ScheduledJob {
    public let name = "auto-dispatch"
    public let enabled: Bool
    public let batch: Int

    public init(enabled: Bool, batch: Int = 50) {
        self.enabled = enabled
        self.batch = batch
    }

    public func run(tick: Date, in transaction: PGConnection) throws {
        guard enabled else { return }
        try AutoDispatch.dispatch(
            try TaskDispatching.dispatchable(limit: batch, in: transaction),
            messageID: "auto-dispatch:\(Int(tick.timeIntervalSince1970))", now: tick, in: transaction)
    }
}

/// `sla-monitor` (every 15 minutes, once across the cluster: the scheduler's tick): open SLA records move on
/// at the tick's time (``SLAClock``), and each move to at risk or breached alerts the operators once (the
/// alert's key is the record's and the status's).
public struct SLAMonitorJob: ScheduledJob {
    public let name = "sla-monitor"

    public init() {}

    public func run(tick: Date, in transaction: PGConnection) throws {
        let transitions = try SLAStore.monitor(
            now: tick, messageID: "sla-monitor:\(Int(tick.timeIntervalSince1970))", in: transaction)
        let alerts = transitions.compactMap { transition -> NotificationStore.New? in
            let kind: NotificationKind
            switch transition.to {
            case .atRisk: kind = .slaAtRisk
            case .breached: kind = .slaBreached
            case .onTrack, .met: return nil
            }
            return Notify.operatorAlert(
                kind, cause: String(transition.id), taskID: nil, projectID: transition.projectID,
                data: [
                    "slaId": String(transition.id), "title": transition.projectName,
                    "projectId": String(transition.projectID), "type": transition.type.words,
                    "deadline": ISO8601DateFormatter().string(from: transition.deadline),
                ])
        }
        try Notify.enqueue(alerts, priority: 4, in: transaction)
        // Agents whose failure rate passed the threshold: the operators told, once per crossing.
        for agent in try AgentFailing.check(now: tick, in: transaction) {
            let runs = agent.completed + agent.failed
            try Notify.operators(
                .agentFailing, cause: "\(agent.agentID):\(Int(tick.timeIntervalSince1970))", taskID: nil,
                projectID: nil,
                data: [
                    "agentId": String(agent.agentID), "title": agent.name, "failed": String(agent.failed),
                    "runs": String(runs), "rate": "\(Int((Double(agent.failed) * 100 / Double(runs)).rounded())) %",
                ], priority: 4, in: transaction)
        }
        // Tasks waiting for their dispatch past their band's target: the operators told, once per wait.
        for late in try DispatchTargetStore.late(now: tick, in: transaction) {
            let target = DispatchTargets.seconds(priority: late.priority) ?? 0
            try Notify.operators(
                .dispatchLate, cause: "\(late.task):\(Int(late.requestedAt.timeIntervalSince1970))", taskID: late.task,
                projectID: late.projectID,
                data: [
                    "taskId": String(late.task), "title": late.title,
                    "requestedAt": ISO8601DateFormatter().string(from: late.requestedAt),
                    "band": DispatchTargets.label(priority: late.priority),
                    "target": target >= 3600 ? "\(target / 3600) h" : "\(target / 60) min",
                ], priority: 4, in: transaction)
        }
        // A task whose SLA went at risk: raised once to the next band (the seed's 4.4).
        try TaskEscalation.slaAtRisk(
            transitions.compactMap { transition in
                guard transition.to == .atRisk, let task = transition.taskID else { return nil }
                return (task, transition.id, transition.type.words)
            }, messageID: "sla-monitor:\(Int(tick.timeIntervalSince1970)):escalate", in: transaction)
    }
}

/// `weekly-digest` (once a week, once across the cluster): each active Pro or Scale client with something to
/// report gets the week's work (delivered, completed, open, waiting for review) by email and chat, once per
/// week (the notification's key names the week).
public struct WeeklyDigestJob: ScheduledJob {
    public let name = "weekly-digest"

    public init() {}

    public func run(tick: Date, in transaction: PGConnection) throws {
        let since = tick.addingTimeInterval(-7 * 86400)
        let week = ISO8601DateFormatter().string(from: since).prefix(10)
        for client in try WeeklyDigest.weeks(since: since, until: tick, in: transaction) {
            try Notify.client(
                .weeklyDigest, cause: "\(client.clientID):\(week)", clientID: client.clientID, email: client.email,
                projectID: nil, taskID: nil,
                data: [
                    "title": client.name, "weekOf": String(week), "delivered": String(client.delivered),
                    "tasksCompleted": String(client.tasksCompleted), "openProjects": String(client.openProjects),
                    "inReview": String(client.inReview),
                ], priority: 2, in: transaction)
        }
    }
}

/// `billing-snapshot` (daily, once across the cluster): the day that ended at the tick, per plan
/// (``AnalyticsStore/snapshot(day:in:)``); the day in progress is written too, so the figures are never a day
/// behind.
public struct BillingSnapshotJob: ScheduledJob {
    public let name = "billing-snapshot"

    public init() {}

    public func run(tick: Date, in transaction: PGConnection) throws {
        try AnalyticsStore.snapshot(day: tick.addingTimeInterval(-1), in: transaction)
        try AnalyticsStore.snapshot(day: tick, in: transaction)
    }
}

/// `weekly-rollup` (weekly, once across the cluster): the ISO week that contains the tick's eve, and the week
/// in progress.
public struct WeeklyRollupJob: ScheduledJob {
    public let name = "weekly-rollup"

    public init() {}

    public func run(tick: Date, in transaction: PGConnection) throws {
        try AnalyticsStore.rollup(week: tick.addingTimeInterval(-1), in: transaction)
        try AnalyticsStore.rollup(week: tick, in: transaction)
    }
}

public enum Jobs {
    /// Every scheduled job; `heartbeatLimit` is how long an agent may stay silent before it goes offline.
    public static func all(
        heartbeatLimit: Duration = .seconds(900), autoDispatch: Bool = false, retention: RetentionPolicy = .defaults
    ) -> [any ScheduledJob] {
        [
            HeartbeatCheckJob(limit: heartbeatLimit), AutoDispatchJob(enabled: autoDispatch), SLAMonitorJob(),
            WeeklyDigestJob(), BillingSnapshotJob(), WeeklyRollupJob(), RetentionJob(policy: retention),
        ]
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import Logging
import OpenClaw
import PostgreSQL
import ServiceLifecycle

/// What a worker holding a gateway connection checks with the gateway every `interval`, outside any
/// transaction, before a short one writes what it learned:
/// - runs past their deadline (by `stuckGrace`) whose result never came (``recoverStuck(now:)``): the gateway
///   is asked what became of each (``RunWitness``), and the result it reports is published (a run that ended ok
///   with its reply, one that ended in error or timeout as failed); only a run it does not know, with no reply
///   in its session, is lost. A run still running, or a gateway that cannot be asked, is left for the next
///   check (the heartbeat job fails it as lost only much later, for deployments without such a worker);
/// - agents (``runOnce(now:)``): asks the gateway's `agents.list`, then applies ``AgentLiveness``: listed agents are seen now (and back online if liveness took them offline), agents the
/// gateway listed before and lists no more go offline, with the reason. An operator's offline or paused
/// stands. Every worker that holds a gateway connection runs one; the changes are conditional updates, so two
/// workers write each change once. A gateway that does not answer changes nothing (the heartbeat check's
/// silence limit then decides). Tests call ``runOnce(now:)``.
public final class GatewayRoster: Service, Sendable {
    let client: GatewayClient
    let postgres: PostgresConfiguration
    let interval: Duration
    let silenceLimit: Duration
    let stuckGrace: Duration
    let logger: Logger

    public init(
        client: GatewayClient, postgres: PostgresConfiguration, interval: Duration = .seconds(30),
        silenceLimit: Duration = .seconds(900), stuckGrace: Duration = .seconds(120), logger: Logger
    ) {
        self.client = client
        self.postgres = postgres
        self.interval = interval
        self.silenceLimit = silenceLimit
        self.stuckGrace = stuckGrace
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await runOnce(now: Date()) } catch {
                logger.notice("agent roster not checked", metadata: ["error": "\(error)"])
            }
            do { try await recoverStuck(now: Date()) } catch {
                logger.notice("stuck runs not checked", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdown(within: interval)
        }
    }

    /// Asks the gateway about every run past its deadline and publishes what it says (through the outbox, in
    /// one transaction): the same message as the agent's callback, so a callback that still comes is a no-op.
    /// Returns the results published.
    @discardableResult
    public func recoverStuck(now: Date) async throws -> [TaskResultMessage] {
        let grace = stuckGrace
        let stuck = try await database { db in try TaskDispatching.stuckRuns(grace: grace, limit: 100, on: db) }
        guard !stuck.isEmpty else { return [] }
        let witness = RunWitness(client: client)
        let receivedAt = Int64(now.timeIntervalSince1970 * 1000)
        var results: [TaskResultMessage] = []
        for run in stuck {
            switch await witness.verdict(runID: run.runID, sessionKey: run.sessionKey) {
            case .ended(let final):
                if let message = RunOutcomes.result(of: final, now: now) { results.append(message) }
            case .lost:
                let report = TaskResultReport(
                    taskId: run.taskID, status: .failed, output: nil,
                    error: "the run was lost: the gateway does not know it, and it never reported")
                results.append(TaskResultMessage(report: report, attempt: run.attempt, receivedAt: receivedAt))
            case .running, .unreachable:
                continue
            }
        }
        guard !results.isEmpty else { return [] }
        let published = results
        try await database { db in
            try db.transaction { tx in try Outbox.enqueue(all: published, in: tx) }
        }
        logger.info("stuck runs settled from the gateway's word", metadata: ["runs": "\(results.count)"])
        return results
    }

    /// Records what a finished run used, as its final reply reported (``RunUsageStore``); tried three times,
    /// a second apart. A report that cannot be written is logged: the run then costs its agent's rate.
    public func recordUsage(_ final: RunFinal) async {
        guard let usage = final.usage else { return }
        for attempt in 1...3 {
            do {
                _ = try await database { db in try RunUsageStore.record(runID: final.runID, usage: usage, on: db) }
                return
            } catch {
                if attempt == 3 {
                    logger.warning(
                        "a run's usage could not be recorded", metadata: ["run": "\(final.runID)", "error": "\(error)"])
                } else {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Runs `work` on a connection of its own, on a thread of its own.
    func database<T: Sendable>(_ work: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let postgres = postgres
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let db = try PGConnection(postgres)
                        defer { db.close() }
                        return try work(db)
                    })
            }
        }
    }

    /// Sleeps for `duration`, or less when a graceful shutdown begins.
    func gracefulShutdown(within duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }

    /// One check at `now`: the gateway's list, then the changes; returns what changed.
    @discardableResult
    public func runOnce(now: Date) async throws -> [AgentLiveness.Change] {
        let answer = try await client.request("agents.list", [:], timeout: .seconds(10))
        guard let agents = answer["agents"]?.array else {
            throw GatewayError.protocolViolation("agents.list answered without agents")
        }
        let listed = Set(agents.compactMap { $0["id"]?.string })
        let limit = silenceLimit
        let messageID = "gateway-roster:\(Int(now.timeIntervalSince1970 * 1000))"
        return try await database { db in
            try db.transaction { tx in
                try AgentLifecycleStore.checkLiveness(
                    listed: listed, now: now, limit: limit, messageID: messageID, in: tx)
            }
        }
    }
}

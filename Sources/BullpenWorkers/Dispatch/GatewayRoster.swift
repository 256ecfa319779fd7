import BullpenDomain
import BullpenStore
import Foundation
import Logging
import OpenClaw
import PostgreSQL
import ServiceLifecycle

/// Keeps agents online while the gateway says they are alive: every `interval`, asks the gateway's
/// `agents.list` on the worker's connection (outside any transaction), then applies ``AgentLiveness`` in one
/// short transaction: listed agents are seen now (and back online if liveness took them offline), agents the
/// gateway listed before and lists no more go offline, with the reason. An operator's offline or paused
/// stands. Every worker that holds a gateway connection runs one; the changes are conditional updates, so two
/// workers write each change once. A gateway that does not answer changes nothing (the heartbeat check's
/// silence limit then decides). Tests call ``runOnce(now:)``.
public final class GatewayRoster: Service, Sendable {
    let client: GatewayClient
    let postgres: PostgresConfiguration
    let interval: Duration
    let silenceLimit: Duration
    let logger: Logger

    public init(
        client: GatewayClient, postgres: PostgresConfiguration, interval: Duration = .seconds(30),
        silenceLimit: Duration = .seconds(900), logger: Logger
    ) {
        self.client = client
        self.postgres = postgres
        self.interval = interval
        self.silenceLimit = silenceLimit
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await runOnce(now: Date()) } catch {
                logger.notice("agent roster not checked", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdown(within: interval)
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
        let (postgres, limit) = (postgres, silenceLimit)
        let messageID = "gateway-roster:\(Int(now.timeIntervalSince1970 * 1000))"
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let db = try PGConnection(postgres)
                        defer { db.close() }
                        return try db.transaction { tx in
                            try AgentLifecycleStore.checkLiveness(
                                listed: listed, now: now, limit: limit, messageID: messageID, in: tx)
                        }
                    })
            }
        }
    }
}

import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// A job the scheduler runs once per tick, cluster-wide, inside the transaction that claims the tick.
public protocol ScheduledJob: Sendable {
    var name: String { get }
    /// Does the work; throwing marks the run failed (the claim stays, so the tick is not retried).
    func run(tick: Date, in transaction: PGConnection) throws
}

/// Runs scheduled jobs once per tick across any number of worker processes.
///
/// Every process looks at the current tick of each job; the first to insert the `(job, tick)` row of
/// `cron_runs` runs the job in that same transaction, and the others skip it (an advisory lock keeps them
/// from waiting on it). Only the current tick is considered: after downtime a job runs once, not once per
/// missed tick. A crash mid-job rolls the claim back, so another process can take the tick.
public final class Scheduler: Service, @unchecked Sendable {
    private let schedule: Schedule
    private let jobs: [String: any ScheduledJob]
    private let postgres: PostgresConfiguration
    private let worker: String
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let lock = NSLock()
    private var stopping = false

    public init(
        schedule: Schedule, jobs: [any ScheduledJob], postgres: PostgresConfiguration, worker: String,
        metrics: WorkerMetrics, logger: Logger
    ) throws {
        let byName = Dictionary(jobs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in schedule.jobs where byName[entry.name] == nil {
            throw TopologyError(description: "the schedule names job \(entry.name), which this binary does not have")
        }
        self.schedule = schedule
        self.jobs = byName
        self.postgres = postgres
        self.worker = worker
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs until graceful shutdown, cancellation or ``stop()``.
    public func run() async throws {
        await runBlockingLoop(name: "bullpen-scheduler", stop: { [self] in stop() }, loop: { [self] in loop() })
    }

    public func stop() { lock.withLock { stopping = true } }

    private func loop() {
        var db: PGConnection?
        var lastTick: [String: Date] = [:]
        while !lock.withLock({ stopping }) {
            do {
                if db == nil { db = try PGConnection(postgres) }
                for entry in schedule.jobs {
                    let tick = Schedule.tick(containing: Date(), everySeconds: entry.everySeconds)
                    guard lastTick[entry.name] != tick else { continue }
                    try runIfUnclaimed(entry.name, tick: tick, on: db!)
                    lastTick[entry.name] = tick
                }
            } catch {
                logger.warning("scheduler failed; retrying", metadata: ["error": "\(error)"])
                db?.close()
                db = nil
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        db?.close()
    }

    /// Claims and runs one tick of a job; returns whether this process ran it.
    @discardableResult
    public func runIfUnclaimed(_ name: String, tick: Date, on db: PGConnection) throws -> Bool {
        guard let job = jobs[name] else { return false }
        return try db.transaction { tx in
            let locked: Bool = try tx.query(
                "SELECT pg_try_advisory_xact_lock(hashtext('bullpen.cron.' || $1), $2::int) AS locked",
                [name, Int(tick.timeIntervalSince1970) % Int(Int32.max)]
            ).first!.decode("locked")
            guard locked else { return false }
            let claimed = try tx.query(
                "INSERT INTO cron_runs (job, tick, worker) VALUES ($1, $2, $3) ON CONFLICT (job, tick) DO NOTHING",
                [name, tick, worker]).rowsAffected == 1
            guard claimed else { return false }
            try tx.execute("SAVEPOINT job")
            do {
                try job.run(tick: tick, in: tx)
                try tx.execute("RELEASE SAVEPOINT job")
                try tx.query(
                    "UPDATE cron_runs SET status = 'succeeded', finished_at = now() WHERE job = $1 AND tick = $2", [name, tick])
                metrics.jobRuns(name, outcome: "succeeded").increment()
            } catch {
                try tx.execute("ROLLBACK TO SAVEPOINT job")
                try tx.query(
                    "UPDATE cron_runs SET status = 'failed', finished_at = now(), error = $3 WHERE job = $1 AND tick = $2",
                    [name, tick, String("\(error)".prefix(1000))])
                metrics.jobRuns(name, outcome: "failed").increment()
                logger.error("scheduled job failed", metadata: ["job": "\(name)", "error": "\(error)"])
            }
            return true
        }
    }
}

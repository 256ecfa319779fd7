import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle
import Synchronization

/// A job the scheduler runs once per tick, cluster-wide, inside the transaction that claims the tick.
public protocol ScheduledJob: Sendable {
    var name: String { get }
    /// Does the work; throwing marks the run failed (the claim stays, so the tick is not retried).
    func run(tick: Date, in transaction: PGConnection) throws
}

/// A scheduled job whose work is long and must not hold a transaction (retention deletes in small batches): the
/// scheduler claims its tick and commits, then runs it on a thread of its own with a connection and no
/// transaction open, so the other jobs' ticks go on meanwhile; `stop` says the worker is shutting down. A crash
/// mid-run leaves the tick claimed and `running`: the next tick runs it again, so its work must be safe to
/// repeat.
public protocol LongScheduledJob: ScheduledJob {
    func run(tick: Date, on db: PGConnection, stop: @escaping @Sendable () -> Bool) throws
}

extension LongScheduledJob {
    /// Not called: the scheduler runs a long job with its own connection.
    public func run(tick: Date, in transaction: PGConnection) throws {}
}

/// Runs scheduled jobs once per tick across any number of worker processes.
///
/// Every process looks at the current tick of each job; the first to insert the `(job, tick)` row of
/// `cron_runs` runs the job in that same transaction, and the others skip it (an advisory lock keeps them
/// from waiting on it). Only the current tick is considered: after downtime a job runs once, not once per
/// missed tick. A crash mid-job rolls the claim back, so another process can take the tick. Tests call
/// ``runIfUnclaimed(_:tick:on:)`` directly.
public final class Scheduler: Service, Sendable {
    private let schedule: Schedule
    private let jobs: [String: any ScheduledJob]
    private let postgres: PostgresConfiguration
    private let worker: String
    private let metrics: WorkerMetrics
    private let logger: Logger
    /// The long jobs running now in this process (one run of a job at a time).
    private let running = Mutex<Set<String>>([])
    /// Set at shutdown, for long jobs between their batches.
    private let stopping = Atomic<Bool>(false)
    /// How often the loop looks at the clock.
    private let interval: Duration = .milliseconds(200)

    /// Throws when the schedule names a job that `jobs` lacks.
    public init(
        schedule: Schedule, jobs: [any ScheduledJob], postgres: PostgresConfiguration, worker: String,
        metrics: WorkerMetrics, logger: Logger
    ) throws {
        let byName = Dictionary(jobs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in schedule.jobs where byName[entry.name] == nil {
            throw ScheduleError(description: "the schedule names job \(entry.name), which this binary does not have")
        }
        self.schedule = schedule
        self.jobs = byName
        self.postgres = postgres
        self.worker = worker
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs until graceful shutdown or cancellation.
    public func run() async {
        await BlockingService(name: "bullpen-scheduler") { [self] stop in loop(stop) }.run()
    }

    private func loop(_ stop: StopSignal) {
        var session = PostgresSession(postgres)
        defer {
            stopping.store(true, ordering: .relaxed)
            session.close()
        }
        var lastTick: [String: Date] = [:]
        while !stop.isRequested {
            do {
                let db = try session.connection()
                for entry in schedule.jobs {
                    let tick = Schedule.tick(
                        containing: Date(), everySeconds: entry.everySeconds, offsetSeconds: entry.offsetSeconds ?? 0)
                    guard lastTick[entry.name] != tick else { continue }
                    try runIfUnclaimed(entry.name, tick: tick, on: db)
                    lastTick[entry.name] = tick
                }
                session.succeeded()
                stop.sleep(for: interval)
            } catch {
                stop.sleep(for: max(interval, session.failed(error, logger: logger, "scheduler failed; retrying")))
            }
        }
    }

    /// Claims and runs one tick of a job; returns whether this process ran it (a long job: started it; `wait`
    /// waits for it to end, for tests).
    @discardableResult
    public func runIfUnclaimed(_ name: String, tick: Date, on db: PGConnection, wait: Bool = false) throws -> Bool {
        guard let job = jobs[name] else { return false }
        if let long = job as? any LongScheduledJob {
            guard running.withLock({ $0.insert(name).inserted }) else { return false }
            let claimed = try? db.transaction { tx in
                try CronRuns.tryLock(job: name, tick: tick, in: tx)
                    && CronRuns.claim(job: name, tick: tick, worker: worker, in: tx)
            }
            guard claimed == true else {
                running.withLock { _ = $0.remove(name) }
                return false
            }
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [self] in
                defer {
                    running.withLock { _ = $0.remove(name) }
                    done.signal()
                }
                runLong(long, name: name, tick: tick)
            }
            if wait { done.wait() }
            return true
        }
        return try db.transaction { tx in
            guard try CronRuns.tryLock(job: name, tick: tick, in: tx),
                try CronRuns.claim(job: name, tick: tick, worker: worker, in: tx)
            else { return false }
            try tx.execute("SAVEPOINT job")
            do {
                try job.run(tick: tick, in: tx)
                try tx.execute("RELEASE SAVEPOINT job")
                try CronRuns.finish(job: name, tick: tick, error: nil, in: tx)
                metrics.jobRuns(name, outcome: "succeeded").increment()
            } catch {
                try tx.execute("ROLLBACK TO SAVEPOINT job")
                try CronRuns.finish(job: name, tick: tick, error: "\(error)", in: tx)
                metrics.jobRuns(name, outcome: "failed").increment()
                logger.error("scheduled job failed", metadata: ["job": "\(name)", "error": "\(error)"])
            }
            return true
        }
    }

    /// A long job's run, on its own connection; its end recorded on its tick.
    private func runLong(_ job: any LongScheduledJob, name: String, tick: Date) {
        var error: String?
        do {
            let db = try PGConnection(postgres)
            defer { db.close() }
            try job.run(tick: tick, on: db, stop: { [self] in stopping.load(ordering: .relaxed) })
            metrics.jobRuns(name, outcome: "succeeded").increment()
        } catch let failure {
            error = "\(failure)"
            metrics.jobRuns(name, outcome: "failed").increment()
            logger.error("scheduled job failed", metadata: ["job": "\(name)", "error": "\(failure)"])
        }
        do {
            let db = try PGConnection(postgres)
            defer { db.close() }
            try db.transaction { tx in try CronRuns.finish(job: name, tick: tick, error: error, in: tx) }
        } catch {
            logger.warning("could not record a scheduled job's end", metadata: ["job": "\(name)", "error": "\(error)"])
        }
    }
}

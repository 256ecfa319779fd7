import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import Testing

/// A job that counts its runs.
final class CountingJob: ScheduledJob, @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var ticks: [Date] = []

    init(name: String) { self.name = name }

    func run(tick: Date, in transaction: PGConnection) throws {
        lock.withLock { ticks.append(tick) }
    }

    var runs: [Date] { lock.withLock { ticks } }
}

/// A long job that takes `seconds`.
final class SlowJob: LongScheduledJob, @unchecked Sendable {
    let name = "slow"
    let seconds: Double
    private let lock = NSLock()
    private var ticks: [Date] = []

    init(seconds: Double) { self.seconds = seconds }

    func run(tick: Date, on db: PGConnection, stop: @escaping @Sendable () -> Bool) throws {
        lock.withLock { ticks.append(tick) }
        Thread.sleep(forTimeInterval: seconds)
    }

    var runs: [Date] { lock.withLock { ticks } }
}

@Suite("Scheduler")
final class SchedulerTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("sched") }
    deinit { database.drop() }

    func scheduler(_ job: CountingJob, worker: String) throws -> Scheduler {
        try Scheduler(
            schedule: Schedule(jobs: [.init(name: job.name, everySeconds: 1)]), jobs: [job],
            postgres: database.configuration, worker: worker, metrics: WorkerMetrics(), logger: Logger(label: "test"))
    }

    @Test("two schedulers run each tick once between them")
    func onceAcrossSchedulers() async throws {
        let a = CountingJob(name: "probe")
        let b = CountingJob(name: "probe")
        let schedulers = [try scheduler(a, worker: "a"), try scheduler(b, worker: "b")]
        let tasks = schedulers.map { s in Task { await s.run() } }
        try await Task.sleep(for: .milliseconds(3500))
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
        let runs = a.runs + b.runs
        #expect(Set(runs).count == runs.count, "a tick ran twice: \(runs)")
        #expect(runs.count >= 3)
        let rows = try database.db.query(
            "SELECT count(*) AS n FROM cron_runs WHERE job = 'probe' AND status = 'succeeded'")
        #expect(try rows.first?.decode("n", as: Int.self) == runs.count)
        // No gaps: every tick from the first to the last ran.
        let sorted = runs.sorted()
        #expect(sorted.last!.timeIntervalSince(sorted.first!) == Double(runs.count - 1))
    }

    @Test("after downtime a job runs once, not once per missed tick")
    func missedTicks() throws {
        let job = CountingJob(name: "probe")
        let s = try scheduler(job, worker: "a")
        let past = Schedule.tick(containing: Date().addingTimeInterval(-10), everySeconds: 1)
        #expect(try s.runIfUnclaimed("probe", tick: past, on: database.db))
        Thread.sleep(forTimeInterval: 0)
        let now = Schedule.tick(containing: Date(), everySeconds: 1)
        #expect(try s.runIfUnclaimed("probe", tick: now, on: database.db))
        #expect(try !s.runIfUnclaimed("probe", tick: now, on: database.db))
        #expect(job.runs == [past, now])
        let count: Int = try database.db.query("SELECT count(*) AS n FROM cron_runs").first!.decode("n")
        #expect(count == 2)
    }

    @Test("a job that throws is recorded as failed and its tick is not run again")
    func failure() throws {
        struct Failing: ScheduledJob {
            let name = "broken"
            func run(tick: Date, in transaction: PGConnection) throws { throw TestFailure("boom") }
        }
        let s = try Scheduler(
            schedule: Schedule(jobs: [.init(name: "broken", everySeconds: 60)]), jobs: [Failing()],
            postgres: database.configuration, worker: "a", metrics: WorkerMetrics(), logger: Logger(label: "test"))
        let tick = Schedule.tick(containing: Date(), everySeconds: 60)
        #expect(try s.runIfUnclaimed("broken", tick: tick, on: database.db))
        #expect(try !s.runIfUnclaimed("broken", tick: tick, on: database.db))
        let row = try #require(try database.db.query("SELECT status, error FROM cron_runs WHERE job = 'broken'").first)
        #expect(try row.decode("status", as: String.self) == "failed")
        #expect(try row.decode("error", as: String.self) == "boom")
    }

    @Test("a long job runs once a tick after its claim committed, on a thread of its own, beside the other jobs' ticks")
    func longJob() throws {
        let slow = SlowJob(seconds: 1)
        let quick = CountingJob(name: "probe")
        let s = try Scheduler(
            schedule: Schedule(jobs: [.init(name: "slow", everySeconds: 60), .init(name: "probe", everySeconds: 1)]),
            jobs: [slow, quick], postgres: database.configuration, worker: "a", metrics: WorkerMetrics(),
            logger: Logger(label: "test"))
        let tick = Schedule.tick(containing: Date(), everySeconds: 60)
        let started = Date()
        #expect(try s.runIfUnclaimed("slow", tick: tick, on: database.db))
        #expect(Date().timeIntervalSince(started) < 0.5, "the scheduler did not wait for the long job")
        // Meanwhile the other job's tick runs, and the long one's tick is taken.
        #expect(
            try s.runIfUnclaimed("probe", tick: Schedule.tick(containing: Date(), everySeconds: 1), on: database.db))
        #expect(try !s.runIfUnclaimed("slow", tick: tick, on: database.db))
        func status() throws -> String? {
            try database.db.query("SELECT status FROM cron_runs WHERE job = 'slow' AND tick = $1", [tick]).first?
                .decode("status")
        }
        #expect(try status() == "running", "the claim committed before the job ran (no transaction held over it)")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(slow.runs == [tick])
        #expect(try status() == "succeeded")
        #expect(try !s.runIfUnclaimed("slow", tick: tick, on: database.db, wait: true), "a tick runs once")
    }
}

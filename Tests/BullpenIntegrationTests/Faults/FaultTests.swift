import AMQP
import BullpenDomain
import BullpenFixtures
import BullpenMessaging
import Foundation
import HTTPClient
import Logging
import PostgreSQL
import Testing

/// Fault tests: real worker processes killed, signalled and cut off from restarted services, while they
/// drain real messages. They restart RabbitMQ and PostgreSQL, so they run alone (ops/test runs them
/// after the other suites, with BULLPEN_FAULT_TESTS=1). BULLPEN_FAULT_MESSAGES sets N (default 10,000).
@Suite("Faults", .serialized, .enabled(if: ProcessInfo.processInfo.environment["BULLPEN_FAULT_TESTS"] == "1"))
final class FaultTests {
    static let messages = Int(ProcessInfo.processInfo.environment["BULLPEN_FAULT_MESSAGES"] ?? "") ?? 10_000
    let fixture: StackFixture

    init() throws { fixture = try StackFixture("fault") }
    deinit { fixture.tearDown() }

    /// A worker with one consumer applying one message per transaction: the slowest drain, so faults land
    /// mid-drain and between the commit and the ack of some message.
    func worker(_ name: String, consumers: Int = 1, batchSize: Int = 1) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: [
                "--queues", WorkQueue.review.rawValue, "--consumers", String(consumers), "--batch-size",
                String(batchSize),
                "--metrics-port", "0", "--schedule", "none", "--shutdown-seconds", "5",
            ],
            schema: fixture.database.schema, prefix: fixture.topology.prefix, name: name)
    }

    /// N running tasks and one result message for each on the review queue.
    func prepare(_ n: Int) throws {
        let ids = try BulkSeed.seed(count: n, salt: "fault", on: fixture.db)
        let publisher = ConfirmingPublisher(configuration: try TestEnvironment.amqp(), logger: Logger(label: "fault"))
        publisher.start()
        defer { publisher.shutdown() }
        #expect(eventually { publisher.isConnected })
        let group = DispatchGroup()
        let failures = Counts()
        for id in ids {
            group.enter()
            let message = TaskResultMessage(
                report: TaskResultReport(taskId: id, status: .completed, output: "ok"), attempt: 1, receivedAt: 0)
            publisher.enqueue(try Envelope.outgoing(message, topology: fixture.topology, appID: "test")) { result in
                if case .failure = result { failures.add(1) }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.total == 0)
        #expect(try fixture.reviewDepth() == n)
    }

    /// Completed tasks; survives the test's own session being cut by a PostgreSQL restart.
    func completed() throws -> Int {
        do {
            return try fixture.count("SELECT count(*) FROM tasks WHERE status = 'completed'")
        } catch let error as PGError where error.isConnectionFailure {
            Thread.sleep(forTimeInterval: 0.5)
            return try fixture.count("SELECT count(*) FROM tasks WHERE status = 'completed'")
        }
    }

    /// Waits until `n` tasks are completed; returns false on timeout.
    func drained(_ n: Int, within timeout: Duration) throws -> Bool {
        try eventually(timeout: timeout) { try completed() == n }
    }

    /// Every message applied exactly once: one completed task, one event of each type, one deliverable and
    /// one inbox row per message, nothing parked, nothing left on the queue.
    func expectExactlyOnce(_ n: Int, _ label: String) throws {
        let events = try fixture.count("SELECT count(*) FROM events WHERE type = 'task.completed'")
        let repeated = try fixture.count(
            """
            SELECT count(*) FROM (
                SELECT task_id FROM events GROUP BY task_id, type HAVING count(*) > 1
                UNION
                SELECT task_id FROM deliverables GROUP BY task_id HAVING count(*) > 1
            ) r
            """)
        let inbox = try fixture.count("SELECT count(*) FROM inbox")
        let parked = try fixture.count("SELECT count(*) FROM dead_letters")
        let depth = try reconnectingDepth()
        print(
            "[fault] \(label): sent \(n), completed \(try completed()), events \(events), tasks with a repeated effect \(repeated), "
                + "inbox \(inbox), parked \(parked), left on queue \(depth)")
        #expect(try completed() == n)
        #expect(events == n)
        #expect(repeated == 0)
        #expect(inbox == n)
        #expect(parked == 0)
        #expect(depth == 0)
    }

    func reconnectingDepth() throws -> Int {
        let admin = try AMQPConnection(try TestEnvironment.amqp())
        defer { admin.close() }
        try admin.openChannel(1)
        return try admin.declareQueue(fixture.topology.workQueue(.review), passive: true).messageCount
    }

    /// Runs ops/services with posix_spawn and waitpid: Foundation's Process waits on a pipe that the
    /// daemonised RabbitMQ inherits, and would never see the script end.
    func ops(_ arguments: [String]) throws {
        let status = try spawnAndWait(TestEnvironment.repositoryRoot + "/ops/services", arguments)
        #expect(status == 0, "ops/services \(arguments)")
    }

    @Test("kill -9 a worker again and again while it drains: every message is applied exactly once")
    func killNine() throws {
        let n = Self.messages
        try prepare(n)
        let worker = try worker("fault-kill9", consumers: 2)
        let started = ContinuousClock.now
        var kills = 0
        var recoveries: [Duration] = []
        try worker.start()
        while try completed() < n, ContinuousClock.now - started < .seconds(600) {
            Thread.sleep(forTimeInterval: Double.random(in: 0.3...0.9))
            guard try completed() < n else { break }
            worker.kill9()
            kills += 1
            let before = try completed()
            let restarted = ContinuousClock.now
            try worker.start()
            if try eventually(timeout: .seconds(30), { try completed() > before || completed() == n }) {
                recoveries.append(ContinuousClock.now - restarted)
            }
        }
        #expect(try drained(n, within: .seconds(120)))
        let total = ContinuousClock.now - started
        _ = worker.terminate()
        let sorted = recoveries.sorted()
        print(
            "[fault] kill -9: \(kills) kills in \(total); recovery (restart to next commit) median "
                + "\(sorted.isEmpty ? .zero : sorted[sorted.count / 2]), max \(sorted.last ?? .zero)")
        #expect(kills >= 3)
        try expectExactlyOnce(n, "kill -9")
    }

    /// Restarts a service (an ops/services command) while a worker drains N messages; every message must
    /// still be applied exactly once.
    func restartMidDrain(_ service: String, _ command: String) throws {
        let n = Self.messages
        try prepare(n)
        let worker = try worker("fault-\(command)")
        try worker.start()
        #expect(try eventually(timeout: .seconds(60)) { try completed() >= n / 10 })
        let restarted = ContinuousClock.now
        try ops([command])
        let back = try completed()
        #expect(back < n, "the drain ended before the restart; raise BULLPEN_FAULT_MESSAGES")
        #expect(try eventually(timeout: .seconds(60)) { try completed() > back || completed() == n })
        print(
            "[fault] \(service) restart: \(back) of \(n) done when it was back; "
                + "recovery (restart begun to next commit) \(ContinuousClock.now - restarted)")
        #expect(try drained(n, within: .seconds(300)))
        _ = worker.terminate()
        try expectExactlyOnce(n, "\(service) restart")
    }

    @Test("RabbitMQ restarted mid-drain: every message is applied exactly once")
    func rabbitRestart() throws {
        try restartMidDrain("RabbitMQ", "restart-rabbitmq")
    }

    @Test("PostgreSQL restarted mid-drain: every message is applied exactly once")
    func postgresRestart() throws {
        try restartMidDrain("PostgreSQL", "restart-postgres")
    }

    @Test("SIGTERM mid-drain: the worker stops within its deadline, and what it acked is exactly what it committed")
    func gracefulShutdown() throws {
        let n = min(Self.messages, 3000)
        try prepare(n)
        let worker = try worker("fault-sigterm")
        try worker.start()
        #expect(try eventually(timeout: .seconds(60)) { try completed() >= n / 5 })
        let (status, took) = worker.terminate()
        #expect(status == 0)
        #expect(took < .seconds(8), "stop took \(took)")
        let done = try completed()
        #expect(done < n)
        #expect(try eventually(timeout: .seconds(5)) { try reconnectingDepth() == n - done })
        print("[fault] SIGTERM: stopped in \(took) with \(done) of \(n) committed and \(n - done) left on the queue")
        try worker.start()
        #expect(try drained(n, within: .seconds(120)))
        _ = worker.terminate()
        try expectExactlyOnce(n, "SIGTERM")
    }

    @Test("two worker processes with the scheduler: each tick runs once")
    func schedulerAcrossProcesses() throws {
        let schedule = FileManager.default.temporaryDirectory.appendingPathComponent(
            TestEnvironment.uniqueName("schedule") + ".json")
        try Data(#"{"jobs": [{"name": "auto-dispatch", "everySeconds": 1}]}"#.utf8).write(to: schedule)
        defer { try? FileManager.default.removeItem(at: schedule) }
        let ports = try [freePort(), freePort()]
        let workers = try ports.enumerated().map { index, port in
            try WorkerProcess(
                arguments: [
                    "--queues", WorkQueue.review.rawValue, "--schedule", schedule.path, "--metrics-port", String(port),
                ],
                schema: fixture.database.schema, prefix: fixture.topology.prefix, name: "fault-scheduler-\(index)")
        }
        for worker in workers { try worker.start() }
        Thread.sleep(forTimeInterval: 6)
        // Both must still run: a worker that could not bind its metrics port has exited.
        let running = workers.filter { $0.isRunning }.count
        #expect(running == workers.count, "a worker exited; see its log in .data/logs")
        // Runs start just after a tick begins; scrape in the middle of a second, when none is in flight.
        let fraction = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 1)
        Thread.sleep(forTimeInterval: (1.6 - fraction).truncatingRemainder(dividingBy: 1))
        let scrapedAt = Date()
        var runs = 0
        for port in ports {
            let text = try CurlClient.perform(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")).text
            for line in text.split(separator: "\n")
            where line.hasPrefix("bullpen_scheduled_runs_total{") && line.contains("job=\"auto-dispatch\"")
                && line.contains("succeeded")
            {
                runs += Int(Double(line.split(separator: " ").last ?? "0") ?? 0)
            }
        }
        for worker in workers { #expect(worker.terminate().status == 0) }
        let ticks = try fixture.db.query(
            "SELECT tick FROM cron_runs WHERE job = 'auto-dispatch' AND tick <= $1 ORDER BY tick", [scrapedAt]
        ).rows
            .map { try $0.decode("tick", as: Date.self) }
        print(
            "[fault] scheduler: \(ticks.count) ticks in cron_runs, \(runs) runs counted by the two processes' /metrics")
        #expect(ticks.count >= 4)
        #expect(runs == ticks.count)
        #expect(ticks.last!.timeIntervalSince(ticks.first!) == Double(ticks.count - 1), "a tick was skipped")
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenSandbox
import Foundation
import HummingbirdTesting
import PostgreSQL
import Testing

/// Dispatch with real worker processes: a worker killed while the gateway is accepting a run, and another
/// taking over. Part of the fault tests (BULLPEN_FAULT_TESTS=1).
@Suite("Faults: dispatch", .serialized, .enabled(if: ProcessInfo.processInfo.environment["BULLPEN_FAULT_TESTS"] == "1"))
final class DispatchFaultTests: @unchecked Sendable {
    let fixture: StackFixture

    /// The queue files the worker processes read: the repository's, with the dispatch queue's delay tiers cut
    /// to 1 and 2 seconds (three attempts), so that a gateway can stay down past them within a test.
    let queuesFolder: String

    init() throws {
        fixture = try StackFixture("dfault") { spec in
            guard spec.name == WorkQueue.dispatch.rawValue else { return spec }
            var short = spec
            short.retryDelaysSeconds = [1, 2]
            short.maxAttempts = 3
            return short
        }
        queuesFolder = try queueFiles(of: fixture.topology, stem: "dfault")
    }

    deinit {
        fixture.tearDown()
        try? FileManager.default.removeItem(atPath: queuesFolder)
    }

    func worker(_ name: String, gatewayPort: Int, keyFolder: String, acceptSeconds: Int = 1) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: [
                "--queues", WorkQueue.dispatch.rawValue, "--consumers", "1", "--metrics-port", "0", "--schedule",
                "none",
                "--shutdown-seconds", "5",
            ],
            schema: fixture.database.schema, prefix: fixture.topology.prefix, name: name,
            extraEnvironment: [
                "BULLPEN_GATEWAY_URL": "ws://127.0.0.1:\(gatewayPort)", "BULLPEN_GATEWAY_TOKEN": "fault-gw",
                "BULLPEN_CALLBACK_SECRET": "a fault test secret, thirty-two characters or more",
                "BULLPEN_DEVICE_KEY": keyFolder + "/device.key", "BULLPEN_QUEUES_DIR": queuesFolder,
                "BULLPEN_GATEWAY_ACCEPT_SECONDS": String(acceptSeconds),
            ])
    }

    /// A sandbox gateway (with `faults` set, the simulated agent never calling back) on a port of its own and
    /// a folder for the workers' device key, for the length of `body`.
    func withGateway(
        _ faults: SandboxGateway.Faults,
        _ body: @escaping @Sendable (SandboxGateway, Int, String) async throws -> Void
    ) async throws {
        let gateway = SandboxGateway(
            configuration: .init(
                port: 0, token: "fault-gw", tickInterval: .milliseconds(500), runDuration: .seconds(60)),
            logger: fixture.logger)
        var set = faults
        set.neverCallBack = true
        gateway.setFaults(set)
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("dfault-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: keys) }
        try await gateway.application().test(.live) { app in try await body(gateway, try #require(app.port), keys) }
    }

    /// A client, a project, an agent with two slots and a task waiting for its dispatch.
    func waitingTask(_ title: String) throws -> Int64 {
        try fixture.db.query(
            """
            WITH c AS (INSERT INTO clients (name, email) VALUES ('F', 'f-' || gen_random_uuid() || '@example.test') RETURNING id),
                 p AS (INSERT INTO projects (client_id, name, type, status, tier) SELECT id, 'P', 'web', 'active', 'pro' FROM c RETURNING id),
                 a AS (INSERT INTO agents (name, status, specialization, max_concurrent_tasks)
                       VALUES ('writer-' || gen_random_uuid(), 'online', 'writer', 2) RETURNING id)
            INSERT INTO tasks (title, status, project_id, assigned_agent_id, dispatch_requested_at, dispatch_priority)
            SELECT $1, 'assigned', p.id, a.id, now(), 3 FROM p, a RETURNING id
            """, [title]
        ).first!.decode("id")
    }

    @Test(
        "a gateway down past the delay tiers: the run start is parked with the reason and the task shows dispatch failed; replayed after, exactly one run"
    )
    func gatewayDownPastTheTiers() async throws {
        let task = try waitingTask("While the gateway is down")
        var faults = SandboxGateway.Faults()
        faults.refuseConnections = true
        try await withGateway(faults) { gateway, port, keys in
            let worker = try self.worker("dispatch-fault-down", gatewayPort: port, keyFolder: keys)
            defer { _ = worker.terminate() }
            try self.fixture.broker.publish(DispatchRequest(taskId: task, cause: "fault", priority: 3))
            try worker.start()
            // Three tries (a second each, waiting for a connection), two tiers between them, then parked.
            #expect(
                try eventually(timeout: .seconds(40)) {
                    try self.fixture.count(
                        "SELECT count(*) FROM dead_letters WHERE queue = 'dispatch' AND message_type = 'task.run-start'"
                    )
                        == 1
                })
            let parked = try #require(
                try self.fixture.db.query(
                    "SELECT id, reason, attempts FROM dead_letters WHERE message_type = 'task.run-start'"
                ).first)
            let reason: String = try parked.decode("reason")
            #expect(reason.contains("not connected to the gateway"), "\(reason)")
            #expect(try parked.decode("attempts", as: Int.self) == 3)
            #expect(try self.fixture.taskStatus(task) == "failed")
            let error = try self.fixture.db.query("SELECT error FROM tasks WHERE id = $1", [task]).first?.decode(
                "error", as: String?.self)
            #expect(error?.hasPrefix("dispatch failed: ") == true, "\(error ?? "")")
            #expect(gateway.snapshot.runsStarted == 0)

            // The gateway is back; an operator replays the dead letter (twice, as a nervous operator would).
            var back = SandboxGateway.Faults()
            back.neverCallBack = true
            gateway.setFaults(back)
            let id: Int64 = try parked.decode("id")
            for _ in 1...2 {
                try self.fixture.db.transaction { tx in _ = try DeadLetters.replay(ids: [id], in: tx) }
            }
            #expect(try eventually(timeout: .seconds(40)) { try self.fixture.taskStatus(task) == "running" })
            try await Task.sleep(for: .seconds(1))
            #expect(gateway.snapshot.runsByKey == ["bullpen-\(task)-1": 1], "one run, under the attempt's run id")
            #expect(try self.fixture.count("SELECT count(*) FROM task_attempts WHERE task_id = $1", [task]) == 1)
            #expect(
                try self.fixture.count(
                    "SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.dispatch_replayed'", [task]) == 1)
        }
    }

    @Test(
        "the gateway restarts while it accepts a run (the answer lost, its idempotency forgotten): the retried run start finds the session and starts no other"
    )
    func gatewayRestartMidRun() async throws {
        let task = try waitingTask("Across a gateway restart")
        var faults = SandboxGateway.Faults()
        faults.slowAcceptMs = 2000
        try await withGateway(faults) { gateway, port, keys in
            let worker = try self.worker("dispatch-fault-restart", gatewayPort: port, keyFolder: keys, acceptSeconds: 5)
            defer { _ = worker.terminate() }
            try self.fixture.broker.publish(DispatchRequest(taskId: task, cause: "fault", priority: 3))
            try worker.start()
            // The run has started, its `accepted` not yet sent, when the gateway restarts: it announces it and
            // closes (1012), and comes back without its idempotency keys (its sessions survive, as on the real
            // one). The worker's request fails as "connection lost" and goes to the next tier.
            #expect(try eventually(timeout: .seconds(20)) { gateway.snapshot.runsStarted == 1 })
            gateway.forgetRuns()
            var quick = SandboxGateway.Faults()
            quick.neverCallBack = true
            gateway.setFaults(quick)
            await gateway.announceRestart(restartExpectedMs: 300)
            #expect(try eventually(timeout: .seconds(30)) { try self.fixture.taskStatus(task) == "running" })
            try await Task.sleep(for: .seconds(1))
            #expect(gateway.snapshot.runsByKey == ["bullpen-\(task)-1": 1], "one run for the attempt")
            #expect(gateway.snapshot.runsStarted == 1)
            #expect(try self.fixture.count("SELECT count(*) FROM task_attempts WHERE task_id = $1", [task]) == 1)
        }
    }

    @Test("a worker killed while the gateway accepts a run: the next worker finds the run, and starts no other")
    func killedBetweenClaimAndAccepted() async throws {
        let task = try waitingTask("Across a crash")
        var faults = SandboxGateway.Faults()
        faults.slowAcceptMs = 1500
        try await withGateway(faults) { gateway, port, keys in
            let first = try self.worker("dispatch-fault-1", gatewayPort: port, keyFolder: keys)
            let second = try self.worker("dispatch-fault-2", gatewayPort: port, keyFolder: keys)
            defer {
                first.kill9()
                _ = second.terminate()
            }
            try self.fixture.broker.publish(DispatchRequest(taskId: task, cause: "fault", priority: 3))
            try first.start()
            // The attempt is open and its run start has gone out: the gateway is now taking its time to accept.
            #expect(
                try eventually(timeout: .seconds(20)) {
                    try self.fixture.count(
                        "SELECT count(*) FROM outbox WHERE message_type = 'task.run-start' AND sent_at IS NOT NULL")
                        == 1
                })
            try await Task.sleep(for: .milliseconds(700))
            first.kill9()
            #expect(try self.fixture.taskStatus(task) == "assigned", "killed before it could record the start")
            try second.start()
            #expect(try eventually(timeout: .seconds(30)) { try self.fixture.taskStatus(task) == "running" })
            #expect(gateway.snapshot.runsByKey == ["bullpen-\(task)-1": 1])
            #expect(try self.fixture.count("SELECT count(*) FROM task_attempts WHERE task_id = $1", [task]) == 1)
        }
    }
}

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

    init() throws { fixture = try StackFixture("dfault") }
    deinit { fixture.tearDown() }

    func worker(_ name: String, gatewayPort: Int, keyFolder: String) throws -> WorkerProcess {
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
                "BULLPEN_DEVICE_KEY": keyFolder + "/device.key",
            ])
    }

    @Test("a worker killed while the gateway accepts a run: the next worker finds the run, and starts no other")
    func killedBetweenClaimAndAccepted() async throws {
        let task: Int64 = try fixture.db.query(
            """
            WITH c AS (INSERT INTO clients (name, email) VALUES ('F', 'f@example.test') RETURNING id),
                 p AS (INSERT INTO projects (client_id, name, type, status, tier) SELECT id, 'P', 'web', 'active', 'pro' FROM c RETURNING id),
                 a AS (INSERT INTO agents (name, status, specialization, max_concurrent_tasks) VALUES ('writer-f', 'online', 'writer', 2) RETURNING id)
            INSERT INTO tasks (title, status, project_id, assigned_agent_id, dispatch_requested_at, dispatch_priority)
            SELECT 'Across a crash', 'assigned', p.id, a.id, now(), 3 FROM p, a RETURNING id
            """
        ).first!.decode("id")
        let gateway = SandboxGateway(
            configuration: .init(
                port: 0, token: "fault-gw", tickInterval: .milliseconds(500), runDuration: .seconds(60)),
            logger: fixture.logger)
        var faults = SandboxGateway.Faults()
        faults.slowAcceptMs = 1500
        faults.neverCallBack = true
        gateway.setFaults(faults)
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("dfault-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: keys) }
        try await gateway.application().test(.live) { app in
            let port = try #require(app.port)
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

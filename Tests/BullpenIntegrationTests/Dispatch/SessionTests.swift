import BullpenDomain
import BullpenIngest
import BullpenSandbox
import BullpenStore
import Crypto
import Foundation
import HummingbirdTesting
import OpenClaw
import Testing

/// An operator talking to a running task's agent on the sandbox gateway: reading its session, sending it a
/// message (once, through a gateway that dropped the connection after taking it and then forgot its keys),
/// aborting it; each recorded in the audit log.
@Suite("Talking to a running agent", .serialized)
final class SessionTests: @unchecked Sendable {
    let dispatch: DispatchTests
    var stack: StackFixture { dispatch.stack }

    init() throws { dispatch = try DispatchTests() }

    /// A task of its own, dispatched, running on the gateway for as long as the test needs.
    func running(_ api: APIClient, _ gateway: SandboxGateway, agent: String) async throws -> Int64 {
        var faults = SandboxGateway.Faults()
        faults.holdRunsMs = 60_000
        gateway.setFaults(faults)
        let (project, _) = try await dispatch.plan(api, agents: [(agent, 1)])
        let task = try await dispatch.task(api, project: project, title: "Long work")
        _ = try await api.command(.post, "/v1/tasks/\(task)/dispatch", "{}")
        #expect(try eventually(timeout: .seconds(15)) { try self.dispatch.status(task) == "running" })
        return task
    }

    func events(_ task: Int64, like pattern: String) throws -> [String] {
        try stack.db.query(
            "SELECT message FROM events WHERE task_id = $1 AND type LIKE $2 ORDER BY id", [task, pattern]
        ).rows.map { try $0.decode("message") }
    }

    @Test(
        "an operator reads a running task's session (audited), and a message sent while the gateway takes it and drops the connection, then forgets its keys, reaches the agent once"
    )
    func readAndSend() async throws {
        let box = GatewayClientBox()
        try await dispatch.withStack(clientBox: box) { api, gateway in
            let task = try await self.running(api, gateway, agent: "talker-1")

            // The session, through an ingest that holds a gateway connection of its own.
            let worker = try #require(box.client)
            var configuration = worker.configuration
            configuration.identity = DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey())
            let reader = IngestServer(
                configuration: self.dispatch.fixture.server.configuration, topology: self.stack.topology,
                gateway: GatewayClient(configuration: configuration, logger: self.stack.logger),
                logger: self.stack.logger)
            try await reader.application().test(.router) { client in
                let operatorAPI = APIClient(client: client, token: self.dispatch.fixture.operatorToken)
                var session = try await operatorAPI.get("/v1/tasks/\(task)/session?limit=10")
                for _ in 0..<50 where session.status != .ok {
                    try await Task.sleep(for: .milliseconds(100))  // its gateway connection coming up
                    session = try await operatorAPI.get("/v1/tasks/\(task)/session?limit=10")
                }
                #expect(session.status == .ok, "\(session.json)")
                #expect(session.json["sessionKey"] as? String == "agent:talker-1:bullpen:task-\(task)")
                let first = try #require((session.json["messages"] as? [[String: Any]])?.first)
                #expect(first["role"] as? String == "user")
                #expect((first["text"] as? String)?.contains("Task id: \(task)") == true)
                // The run's callback token, which the prompt carries, is not shown.
                let text = first["text"] as? String ?? ""
                #expect(text.contains("Callback token: cb_… (hidden)"), "\(text)")
                #expect(text.components(separatedBy: "cb_").count == 2)
                // Operators only; a task with no run is 404.
                let clientToken = try ApiTokens.create(
                    name: "a client", role: .client, clientID: 1, on: self.stack.db
                ).secret
                #expect(
                    try await operatorAPI.with(token: clientToken).get("/v1/tasks/\(task)/session").status
                        == .forbidden)
                #expect(try await operatorAPI.get("/v1/tasks/999999/session").status == .notFound)
            }
            #expect(try self.events(task, like: "task.session_read").count == 1)

            // The gateway takes the message and drops every connection before it answers; on the next
            // connection it has forgotten its keys (a restart). The redelivery reads the transcript first.
            var faults = SandboxGateway.Faults()
            faults.holdRunsMs = 60_000
            faults.dropOnChatSend = true
            gateway.setFaults(faults)
            let sent = try await api.command(
                .post, "/v1/tasks/\(task)/messages", #"{"message": "Use British spelling, please."}"#)
            #expect(sent["status"] as? String == "applied", "\(sent)")
            let ref = try #require((sent["result"] as? [String: Any])?["ref"] as? String)
            #expect(try eventually(timeout: .seconds(20)) { gateway.snapshot.chatSends.count == 1 })
            faults.dropOnChatSend = false
            gateway.setFaults(faults)
            gateway.forgetRuns()
            #expect(
                try eventually(timeout: .seconds(60)) {
                    try !self.events(task, like: "task.operator_message_delivered").isEmpty
                })
            let delivered = try self.events(task, like: "task.operator_message_delivered")
            #expect(delivered.count == 1 && delivered[0].contains("transcript holds it already"), "\(delivered)")
            #expect(
                gateway.snapshot.chatSends == ["Message from the operator (ref \(ref)):\nUse British spelling, please."]
            )
            #expect(try self.events(task, like: "task.operator_message").first?.contains("British spelling") == true)

            // A message to a task that is not running is refused, saying why.
            let project: Int64 = try #require(
                try self.stack.db.query("SELECT project_id FROM tasks WHERE id = $1", [task]).first
            ).decode("project_id")
            let idle = try await self.dispatch.task(api, project: project, title: "Not started")
            let refused = try await api.command(.post, "/v1/tasks/\(idle)/messages", #"{"message": "Hi"}"#)
            #expect(refused["status"] as? String == "rejected")
            #expect((refused["error"] as? String)?.contains("is pending, not running") == true, "\(refused)")
        }
    }

    @Test(
        "an operator aborts a running task: it fails at once with the reason, is not retried and raises no alert, and its run stops on the gateway"
    )
    func abort() async throws {
        try await dispatch.withStack { api, gateway in
            let task = try await self.running(api, gateway, agent: "talker-2")
            let aborted = try await api.command(.post, "/v1/tasks/\(task)/abort", #"{"reason": "wrong brief"}"#)
            #expect(aborted["status"] as? String == "applied", "\(aborted)")
            #expect(try eventually(timeout: .seconds(15)) { try self.dispatch.status(task) == "failed" })
            let row = try #require(
                try self.stack.db.query("SELECT error, attempt, retry_count FROM tasks WHERE id = $1", [task]).first)
            #expect(try row.decode("error", as: String?.self) == "aborted by an operator: wrong brief")
            #expect(try row.decode("attempt", as: Int.self) == 1 && row.decode("retry_count", as: Int.self) == 0)
            #expect(try eventually(timeout: .seconds(15)) { gateway.snapshot.aborts == 1 })
            #expect(try eventually { try !self.events(task, like: "task.run_aborted").isEmpty })
            #expect(try self.events(task, like: "task.abort_requested").first?.contains("wrong brief") == true)
            // The gateway's final reply (the run stopped) is the same result: nothing more happens.
            try await Task.sleep(for: .seconds(1))
            #expect(try self.dispatch.status(task) == "failed")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE task_id = $1 AND kind = 'task-failed'", [task])
                    == 0)
            // Aborting it again is refused: it no longer runs.
            let again = try await api.command(.post, "/v1/tasks/\(task)/abort", "{}")
            #expect(again["status"] as? String == "rejected")
        }
    }
}

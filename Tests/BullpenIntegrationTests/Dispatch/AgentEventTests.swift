import BullpenDomain
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import OpenClaw
import Testing

/// The gateway's lifecycle hook through ingest (signed, or refused with the reason and nothing published)
/// to the worker (the agent's last-seen time and status, an events row without the gateway's config), and
/// the heartbeat check that takes silent agents offline.
@Suite("Agent lifecycle hook", .serialized)
final class AgentEventTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }
    let secret = "whsec_hook_test_secret"

    init() throws {
        fixture = try OperatorAPIFixture("hook", hookSecrets: ["whsec_old_secret", "whsec_hook_test_secret"])
    }
    deinit { fixture.tearDown() }

    func signed(_ body: String, at time: Date = Date(), secret: String? = nil) -> String {
        let t = Int(time.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(t).\(body)".utf8), using: SymmetricKey(data: Array((secret ?? self.secret).utf8)))
        return WebhookSignature.header(timestamp: t, signature: Array(mac))
    }

    func post(_ api: APIClient, _ body: String, signature: String?) async throws -> APIClient.Answer {
        try await api.with(token: nil).request(.post, "/webhooks/agents/event", json: body, signature: signature)
    }

    @Test("a signed hook marks the agent seen and online, once, and stores no config; bad signatures publish nothing")
    func hook() async throws {
        let agent: Int64 = try stack.db.query(
            "INSERT INTO agents (name, status, last_seen) VALUES ('writer-9', 'offline', now() - interval '1 hour') RETURNING id"
        ).first!.decode("id")
        let consumer = try stack.consumer(queue: .dispatch)
        consumer.start()
        defer { consumer.stop() }
        try await fixture.run { api in
            let body =
                #"{"type":"command","action":"new","sessionKey":"agent:writer-9:bullpen:task-1","context":{"cfg":{"gateway":{"auth":{"token":"s3cret"}}},"channel":"webchat"}}"#
            let refusals: [(String?, String)] = [
                (nil, "signature_missing"), ("t=1,v2=ab", "signature_malformed"),
                (self.signed(body, at: Date().addingTimeInterval(-400)), "signature_stale"),
                (self.signed(body, secret: "whsec_wrong"), "signature_mismatch"),
                (self.signed(body + " "), "signature_mismatch"),
            ]
            for (signature, code) in refusals {
                let answer = try await self.post(api, body, signature: signature)
                #expect(answer.status == .badRequest && answer.code == code, "\(signature ?? "nil"): \(answer.json)")
            }
            #expect(try self.stack.broker.depth(self.stack.topology.workQueue(.dispatch)) == 0)
            let bad = #"{"type":"command","action":"fly"}"#
            #expect(try await self.post(api, bad, signature: self.signed(bad)).code == "invalid_field")

            let accepted = try await self.post(api, body, signature: self.signed(body))
            #expect(accepted.status == .accepted, "\(accepted.json)")
            let again = try await self.post(api, body, signature: self.signed(body, secret: "whsec_old_secret"))
            #expect(
                again.status == .accepted && again.json["eventId"] as? String == accepted.json["eventId"] as? String)
        }
        #expect(
            try eventually { try self.stack.count("SELECT count(*) FROM events WHERE agent_id = $1", [agent]) == 1 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(try stack.count("SELECT count(*) FROM events WHERE agent_id = $1", [agent]) == 1, "the same event once")
        let row = try #require(
            try stack.db.query(
                "SELECT a.status, a.last_seen > now() - interval '1 minute' AS fresh, e.type, e.data::text AS data FROM agents a JOIN events e ON e.agent_id = a.id WHERE a.id = $1",
                [agent]
            ).first)
        #expect(try row.decode("status", as: String.self) == "online")
        #expect(try row.decode("fresh", as: Bool.self))
        #expect(try row.decode("type", as: String.self) == "agent.session_started")
        let data: String = try row.decode("data")
        #expect(data.contains("webchat") && !data.contains("s3cret") && !data.contains("cfg"))
    }

    @Test("the heartbeat check takes agents silent past the limit offline, with an event and an alert; the others stay")
    func heartbeat() throws {
        let silent: Int64 = try stack.db.query(
            "INSERT INTO agents (name, status, last_seen) VALUES ('quiet', 'online', now() - interval '20 minutes') RETURNING id"
        ).first!.decode("id")
        let recent: Int64 = try stack.db.query(
            "INSERT INTO agents (name, status, last_seen) VALUES ('chatty', 'online', now()) RETURNING id"
        ).first!.decode("id")
        try stack.db.transaction { tx in
            try HeartbeatCheckJob(limit: .seconds(900)).run(tick: Date(), in: tx)
        }
        #expect(
            try stack.db.query("SELECT status FROM agents WHERE id = $1", [silent]).first?.decode(
                "status", as: String.self) == "offline")
        #expect(
            try stack.db.query("SELECT status FROM agents WHERE id = $1", [recent]).first?.decode(
                "status", as: String.self) == "online")
        #expect(
            try stack.count("SELECT count(*) FROM events WHERE type = 'agent.offline' AND agent_id = $1", [silent]) == 1
        )
        let alerts: [String] = try stack.db.query(
            "SELECT data->>'title' FROM notifications WHERE kind = 'agent-silent' ORDER BY id"
        ).rows.map { try $0.decode(at: 0) }
        #expect(alerts == ["quiet"], "one alert, for the silent agent only")
        // The next tick: already offline, no second alert.
        try stack.db.transaction { tx in
            try HeartbeatCheckJob(limit: .seconds(900)).run(tick: Date().addingTimeInterval(30), in: tx)
        }
        #expect(try stack.count("SELECT count(*) FROM notifications WHERE kind = 'agent-silent'") == 1)
    }

    @Test(
        "liveness from the gateway (an injected clock): an idle agent the gateway lists stays online through the heartbeat check; unlisted it goes offline; listed again it comes back; an operator's pause stands, with its reason"
    )
    func rosterFromGateway() async throws {
        let gateway = SandboxGateway(
            configuration: .init(port: 0, token: "sandbox", tickInterval: .milliseconds(200)), logger: stack.logger)
        try await gateway.application().test(.live) { client in
            let port = try #require(client.port)
            let gatewayClient = GatewayClient(
                configuration: .init(
                    url: "ws://127.0.0.1:\(port)", token: "sandbox",
                    identity: DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey()), instanceID: "test"),
                logger: self.stack.logger)
            let running = Task { try await gatewayClient.run() }
            defer { running.cancel() }
            func setRoster(_ agents: [String]) async throws {
                let response = try await client.executeRequest(
                    uri: "/sandbox/agents", method: .post, headers: [:],
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["agents": agents])))
                #expect(response.status == .noContent)
            }
            func status(_ name: String) throws -> String? {
                try self.stack.db.query("SELECT status FROM agents WHERE name = $1", [name]).first?.decode("status")
            }
            let start = Date()
            for name in ["idle-writer", "paused-coder"] {
                try self.stack.db.query(
                    "INSERT INTO agents (name, status, last_seen) VALUES ($1, 'online', $2)",
                    [name, start.addingTimeInterval(-3_600)])
            }
            try await setRoster(["idle-writer", "paused-coder"])
            let roster = GatewayRoster(
                client: gatewayClient, postgres: self.stack.database.configuration, silenceLimit: .seconds(900),
                logger: self.stack.logger)
            // An hour idle, but listed: seen now, and the heartbeat check 20 minutes on leaves it online.
            let seen = try await roster.runOnce(now: start)
            #expect(seen.isEmpty, "no status changes: \(seen)")
            #expect(try self.stack.count("SELECT count(*) FROM agents WHERE listed_at IS NOT NULL") == 2)
            try self.stack.db.transaction { tx in
                try HeartbeatCheckJob(limit: .seconds(900)).run(tick: start.addingTimeInterval(600), in: tx)
            }
            #expect(try status("idle-writer") == "online")
            // The operator pauses one, with a reason.
            let paused: Int64 = try #require(
                try self.stack.db.query("SELECT id FROM agents WHERE name = 'paused-coder'").first?.decode("id"))
            try self.stack.db.transaction { tx in
                try AgentStore.setStatus(
                    AgentStatusChange(id: paused, status: .paused, reason: "model upgrade"), messageID: "op-1", in: tx)
            }
            // The gateway lists neither any more: the writer goes offline with the reason; the pause stands.
            try await setRoster([])
            let gone = try await roster.runOnce(now: start.addingTimeInterval(60))
            #expect(gone.contains { if case .offline = $0 { return true } else { return false } })
            #expect(try status("idle-writer") == "offline")
            #expect(try status("paused-coder") == "paused")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM agents WHERE name = 'idle-writer' AND status_reason = 'the gateway no longer lists it'"
                ) == 1)
            // Listed again: back online; the paused agent stays paused until the operator says otherwise.
            try await setRoster(["idle-writer", "paused-coder"])
            _ = try await roster.runOnce(now: start.addingTimeInterval(120))
            #expect(try status("idle-writer") == "online")
            #expect(try status("paused-coder") == "paused")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM events WHERE type IN ('agent.offline', 'agent.online') AND agent_id = (SELECT id FROM agents WHERE name = 'idle-writer')"
                ) == 2)
            // Routing takes no paused agent.
            let candidate = AgentCandidate(id: paused, status: .paused, specialization: nil)
            #expect(AgentRouting.choose([candidate], specialization: nil, clientID: nil) == nil)
        }
    }

    @Test(
        "an agent whose failure rate passes the threshold over enough runs is alerted once per crossing; back under, it may be again"
    )
    func failing() throws {
        let agent: Int64 = try stack.db.query(
            "INSERT INTO agents (name, status, total_tasks_completed, total_tasks_failed) VALUES ('flaky', 'online', 5, 1) RETURNING id"
        ).first!.decode("id")
        func check(_ seconds: Double) throws {
            try stack.db.transaction { tx in try SLAMonitorJob().run(tick: Date().addingTimeInterval(seconds), in: tx) }
        }
        func alerts() throws -> Int {
            try stack.count("SELECT count(*) FROM notifications WHERE kind = 'agent-failing'")
        }
        try check(0)
        #expect(try alerts() == 0, "1 of 6: too few runs and under the threshold")
        try stack.db.query("UPDATE agents SET total_tasks_failed = 4 WHERE id = $1", [agent])  // 4 of 9
        try check(900)
        try check(1800)
        #expect(try alerts() == 1, "once while it stays over")
        try stack.db.query("UPDATE agents SET total_tasks_completed = 40 WHERE id = $1", [agent])  // 4 of 44
        try check(2700)
        try stack.db.query("UPDATE agents SET total_tasks_failed = 20 WHERE id = $1", [agent])  // 20 of 60
        try check(3600)
        #expect(try alerts() == 2, "crossed again")
    }
}

import BullpenDomain
import BullpenWorkers
import Crypto
import Foundation
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

    @Test("the heartbeat check takes agents silent past the limit offline, with an event; the others stay")
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
    }
}

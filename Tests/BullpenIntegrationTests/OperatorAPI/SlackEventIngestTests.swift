import BullpenDomain
import Crypto
import Foundation
import HummingbirdTesting
import Testing

/// Slack's Events API through ingest and the command worker, on the real services: a person's message in a
/// client's Slack channel lands on its current project's thread once (however often Slack sends it), opens the
/// message-response SLA and alerts the operators; unsigned, stale or forged requests are refused and publish
/// nothing; a message in a channel no client has is kept in the event log.
@Suite("Slack events", .serialized)
final class SlackEventIngestTests: @unchecked Sendable {
    static let secret = "slack-signing-secret-for-tests"
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("slack", slackSigningSecrets: ["old-secret", Self.secret]) }
    deinit { fixture.tearDown() }

    func send(
        _ api: APIClient, _ body: String, secret: String = secret, at time: Int = Int(Date().timeIntervalSince1970)
    ) async throws -> APIClient.Answer {
        let mac = HMAC<SHA256>.authenticationCode(
            for: WebhookSignature.slackSigned(timestamp: time, body: Array(body.utf8)),
            using: SymmetricKey(data: Array(secret.utf8)))
        return try await api.with(token: nil).request(
            .post, "/webhooks/slack", json: body,
            headers: [
                "X-Slack-Request-Timestamp": String(time),
                "X-Slack-Signature": WebhookSignature.slackHeader(signature: Array(mac)),
            ])
    }

    func message(_ eventID: String, channel: String, text: String, ts: String) -> String {
        #"""
        {"type": "event_callback", "event_id": "\#(eventID)", "team_id": "T1",
         "event": {"type": "message", "channel": "\#(channel)", "user": "U42", "text": "\#(text)", "ts": "\#(ts)"}}
        """#
    }

    func drained() throws -> Bool { try eventually(timeout: .seconds(10)) { try fixture.commandQueueDepth() == 0 } }

    @Test("a person's message lands on the client's project thread once, opens the SLA and alerts the operators")
    func message() async throws {
        try await fixture.run { api in
            let client = try await api.create(
                "/v1/clients", #"{"name": "Acme", "email": "ops@acme.test", "slackChannelId": "C0ACME0001"}"#,
                "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(client), "name": "Landing page", "type": "website", "tier": "pro"}"#,
                "projectId")
            #expect(try await api.get("/v1/clients/\(client)").json["slackChannelId"] as? String == "C0ACME0001")

            let body = self.message("Ev1", channel: "C0ACME0001", text: "Can we move the launch to Friday?", ts: "1.1")
            let first = try await self.send(api, body)
            #expect(first.status == .ok && first.json["eventId"] as? String == "Ev1", "\(first.json)")
            #expect(first.json["ignored"] == nil)
            // Slack's retry of the same event (X-Slack-Retry-Num), signed with the secret of the rotation's other side.
            #expect(try await self.send(api, body, secret: "old-secret").status == .ok)
            #expect(
                try eventually {
                    try self.stack.count(
                        "SELECT count(*) FROM client_messages WHERE project_id = $1 AND channel = 'slack'", [project])
                        == 1
                })
            // The same Slack message under another event id (Slack's message id, channel and ts, is kept): one row.
            let again = self.message(
                "Ev1-again", channel: "C0ACME0001", text: "Can we move the launch to Friday?", ts: "1.1")
            #expect(try await self.send(api, again).status == .ok)
            // Taken as a duplicate (settled, not failed on the unique index and retried or parked).
            #expect(
                try eventually {
                    try self.stack.count("SELECT count(*) FROM inbox WHERE message_id = 'slack:Ev1-again'") == 1
                })
            #expect(try self.drained())
            #expect(
                try self.stack.count(
                    """
                    SELECT count(*) FROM client_messages WHERE project_id = $1 AND channel = 'slack' AND sender = 'client'
                       AND content = 'Can we move the launch to Friday?' AND external_message_id = 'C0ACME0001:1.1'
                       AND sender_name = 'Acme (Slack U42)'
                    """, [project]) == 1)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM sla_records WHERE project_id = $1 AND type = 'message_response' AND status = 'on_track'",
                    [project])
                    == 1)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'client-message'") == 1)

            let thread = try await api.get("/v1/projects/\(project)/messages")
            #expect(thread.data.map { $0["channel"] as? String } == ["slack"], "\(thread.json)")

            // Another client may not take the channel.
            let taken = try await api.command(
                .post, "/v1/clients", #"{"name": "Other", "email": "o@other.test", "slackChannelId": "C0ACME0001"}"#)
            #expect(taken["status"] as? String == "rejected")
            #expect(taken["error"] as? String == "another client has the Slack channel C0ACME0001", "\(taken)")
        }
    }

    @Test("unsigned, forged, stale or badly shaped requests are refused and publish nothing")
    func refused() async throws {
        try await fixture.run { api in
            let body = self.message("Ev2", channel: "C0ACME0002", text: "hello", ts: "2.1")
            let unsigned = try await api.with(token: nil).request(.post, "/webhooks/slack", json: body)
            #expect(unsigned.status == .badRequest && unsigned.code == "signature_missing", "\(unsigned.json)")
            let forged = try await self.send(api, body, secret: "not-the-secret")
            #expect(forged.status == .badRequest && forged.code == "signature_mismatch")
            let stale = try await self.send(api, body, at: Int(Date().timeIntervalSince1970) - 600)
            #expect(stale.status == .badRequest && stale.code == "signature_stale")
            let shapeless = try await self.send(api, #"{"type": "event_callback", "event_id": "Ev3"}"#)
            #expect(shapeless.status == .badRequest && shapeless.error["field"] as? String == "event")
            #expect(try self.fixture.commandQueueDepth() == 0)
            #expect(try self.stack.count("SELECT count(*) FROM client_messages") == 0)
        }
    }

    @Test("the address check is answered; bots' messages are dropped; a stranger channel's message is logged")
    func others() async throws {
        try await fixture.run { api in
            let check = try await self.send(api, #"{"type": "url_verification", "challenge": "ch-42", "token": "t"}"#)
            #expect(check.status == .ok && check.json["challenge"] as? String == "ch-42")
            let bot = try await self.send(
                api,
                #"{"type": "event_callback", "event_id": "Ev4", "event": {"type": "message", "channel": "C0ACME0003", "bot_id": "B1", "text": "Delivered", "ts": "3.1"}}"#
            )
            #expect(bot.status == .ok && bot.json["ignored"] as? String == "a bot's message")

            let stranger = try await self.send(api, self.message("Ev5", channel: "C0NOBODY01", text: "hi", ts: "4.1"))
            #expect(stranger.status == .ok && stranger.json["ignored"] == nil)
            #expect(
                try eventually {
                    try self.stack.count(
                        "SELECT count(*) FROM events WHERE type = 'slack.unmatched' AND message LIKE '%C0NOBODY01%'")
                        == 1
                })
            #expect(try self.stack.count("SELECT count(*) FROM client_messages") == 0)
            #expect(try self.stack.count("SELECT count(*) FROM dead_letters") == 0)
        }
    }

    @Test("an ingest with no signing secret answers 503, naming what to set")
    func notConfigured() async throws {
        try await stack.ingest().application().test(.router) { client in
            let answer = try await APIClient(client: client, token: nil).request(.post, "/webhooks/slack", json: "{}")
            #expect(answer.status == .serviceUnavailable && answer.code == "slack_not_configured", "\(answer.json)")
            #expect((answer.error["message"] as? String)?.hasSuffix("(BULLPEN_SLACK_SIGNING_SECRET)") == true)
        }
    }
}

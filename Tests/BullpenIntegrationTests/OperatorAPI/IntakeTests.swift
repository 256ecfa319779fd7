import BullpenDomain
import BullpenSandbox
import BullpenStore
import Foundation
import HTTPTypes
import Hummingbird
import PostgreSQL
import Testing

/// The public intake form through ingest and the command worker, on the real services: a stranger's brief
/// becomes one lead (however often it is sent) with an email to the sender and one to the operators; an
/// active client's brief opens a project in intake under its subscription; bad input, a bot's and too many
/// briefs are refused with the field or the wait, and publish nothing.
@Suite("Intake form", .serialized)
final class IntakeTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("intake", trustedProxies: ["127.0.0.1"]) }
    deinit { fixture.tearDown() }

    /// A brief, from `sender` (as the trusted load balancer on loopback says, in `.live` mode).
    func submit(_ api: APIClient, _ body: String, from sender: String? = nil) async throws -> APIClient.Answer {
        try await api.with(token: nil).request(
            .post, "/v1/intake", json: body, headers: sender.map { ["X-Forwarded-For": $0] } ?? [:])
    }

    /// A form post to the confirmation page: its status and page.
    func confirm(_ api: APIClient, lead: String, token: String) async throws -> (HTTPResponse.Status, String) {
        let response = try await api.client.executeRequest(
            uri: "/intake/confirm", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "lead=\(lead)&token=\(token)"))
        return (response.status, String(buffer: response.body))
    }

    /// Waits until the command queue is empty (every message taken and settled).
    func drained() throws -> Bool {
        try eventually(timeout: .seconds(10)) { try fixture.commandQueueDepth() == 0 }
    }

    @Test("a stranger's brief: one lead however often sent, the sender and the operators told once; operators list it")
    func stranger() async throws {
        try await fixture.run { api in
            let form = #"""
                {"name": "Ada Founder", "email": "Ada@NewCo.test", "company": "NewCo", "plan": "pro",
                 "brief": "A landing page for our launch.\nThree sections.", "source": "pricing page", "website": ""}
                """#
            let first = try await self.submit(api, form)
            #expect(first.status == .accepted, "\(first.json)")
            let messageID = try #require(first.json["messageId"] as? String)
            #expect(messageID.hasPrefix("intake:"))
            #expect(
                try eventually {
                    try self.stack.count(
                        "SELECT count(*) FROM leads WHERE email = 'Ada@NewCo.test' AND status = 'new' AND plan_interest = 'pro'"
                    ) == 1
                })
            let again = try await self.submit(
                api, form.replacingOccurrences(of: "Ada@NewCo.test", with: "ada@newco.test"))
            #expect(again.status == .accepted && again.json["messageId"] as? String == messageID, "\(again.json)")
            #expect(try self.drained())
            #expect(try self.stack.count("SELECT count(*) FROM leads WHERE lower(email) = 'ada@newco.test'") == 1)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE kind = 'intake-received' AND recipient = 'Ada@NewCo.test'"
                )
                    == 1)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'new-lead'") == 1)
            #expect(try self.stack.count("SELECT count(*) FROM events WHERE type = 'lead.received'") == 1)

            let listed = try await api.get("/v1/leads?status=new&email=ADA%40newco.test")
            #expect(listed.status == .ok)
            #expect(listed.data.compactMap { $0["name"] as? String } == ["Ada Founder"])
            #expect(listed.data.first?["clientId"] is NSNull)
            #expect(try await api.with(token: nil).get("/v1/leads").status == .unauthorized)

            // The operators move it on; converted is not theirs to set; a lead that does not exist is named.
            let lead = try #require(jsonID(listed.data.first?["id"]))
            let moved = try await api.command(.patch, "/v1/leads/\(lead)", #"{"status": "contacted"}"#)
            #expect(moved["status"] as? String == "applied", "\(moved)")
            #expect(
                try self.stack.count("SELECT count(*) FROM leads WHERE id = $1 AND status = 'contacted'", [lead]) == 1)
            let converted = try await api.request(.patch, "/v1/leads/\(lead)", json: #"{"status": "converted"}"#)
            #expect(converted.status == .badRequest && converted.error["field"] as? String == "status")
            let missing = try await api.request(.patch, "/v1/leads/999999", json: #"{"status": "new"}"#)
            #expect(missing.status == .unprocessableContent && missing.code == "unknown_reference", "\(missing.json)")
        }
    }

    @Test(
        "an address is not an identity: a brief naming an active client's address opens nothing until the address's owner confirms it by the emailed link; then a project in intake under its subscription, once"
    )
    func client() async throws {
        let events = StripeHistories.make(
            "sprint-once", catalog: TestEnvironment.plans, email: "known@client.test", at: 1_764_000_000)!
        try stack.applyStripe(events.map(StripeIDs.body))
        try await fixture.run(.live) { api in
            let answer = try await self.submit(
                api, #"{"name": "Known", "email": "known@client.test", "brief": "Second site: the careers page"}"#)
            #expect(answer.status == .accepted, "\(answer.json)")
            #expect(
                try eventually {
                    try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'new-lead'") == 1
                })
            #expect(try self.stack.count("SELECT count(*) FROM projects WHERE type = 'intake'") == 0, "nothing opened")
            let parked = try self.stack.db.query("SELECT reason FROM dead_letters").rows.map {
                try $0.decode("reason", as: String.self)
            }
            #expect(parked.isEmpty, "\(parked)")
            #expect(try self.stack.count("SELECT count(*) FROM leads WHERE status = 'new' AND client_id IS NULL") == 1)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'intake-received'") == 0)
            let path: String = try #require(
                try self.stack.db.query(
                    "SELECT data->>'confirmPath' AS path FROM notifications WHERE kind = 'intake-confirm' AND recipient = 'known@client.test'"
                ).first?.decode("path"))
            let query = Dictionary(
                uniqueKeysWithValues: path.split(separator: "?")[1].split(separator: "&").map {
                    let pair = $0.split(separator: "=")
                    return (String(pair[0]), String(pair[1]))
                })
            let (lead, token) = (try #require(query["lead"]), try #require(query["token"]))
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM leads WHERE confirm_token_hash = sha256($1::text::bytea)", [token])
                    == 1, "only the token's SHA-256 is kept")

            // The page: a GET shows a button and changes nothing (a mail scanner confirms nothing).
            let page = try await api.client.executeRequest(uri: path, method: .get, headers: [:], body: nil)
            #expect(page.status == .ok && String(buffer: page.body).contains("<form method=\"post\""))
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(try self.drained())
            #expect(try self.stack.count("SELECT count(*) FROM projects WHERE type = 'intake'") == 0)
            // A wrong token, another lead, junk: 403, nothing published.
            let wrong = String(token.reversed())
            for (badLead, badToken) in [(lead, wrong), ("999999", token), (lead, "x"), ("x", token)] {
                let (status, text) = try await self.confirm(api, lead: badLead, token: badToken)
                #expect(status == .forbidden && text.contains("does not hold"), "\(badLead) \(badToken)")
            }
            #expect(try self.fixture.commandQueueDepth() == 0)

            // The owner confirms: a project in intake under the subscription, with its SLA, once.
            let (status, text) = try await self.confirm(api, lead: lead, token: token)
            #expect(status == .ok && text.contains("confirmed"), "\(text)")
            #expect(
                try eventually {
                    try self.stack.count(
                        """
                        SELECT count(*) FROM projects p JOIN clients c ON c.id = p.client_id
                          JOIN leads l ON l.client_id = c.id AND l.status = 'converted'
                          JOIN sla_records r ON r.project_id = p.id AND r.type = 'first_response'
                         WHERE c.email = 'known@client.test' AND p.status = 'intake' AND p.subscription_id IS NOT NULL
                           AND p.brief = 'Second site: the careers page' AND p.name = 'Second site: the careers page'
                        """) == 1
                })
            #expect(try self.stack.count("SELECT count(*) FROM events WHERE type = 'lead.converted'") == 1)
            #expect(try self.stack.count("SELECT count(*) FROM dead_letters") == 0)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE kind = 'intake-received' AND client_id IS NOT NULL") == 1)
            // Used: the link no longer holds.
            #expect(try await self.confirm(api, lead: lead, token: token).0 == .forbidden)
            let leadID = try #require(Int64(lead))
            let refused = try await api.command(.patch, "/v1/leads/\(leadID)", #"{"status": "discarded"}"#)
            #expect(refused["status"] as? String == "rejected", "a converted lead stays converted: \(refused)")
            // Once the email is sent, the notification no longer holds the link's token.
            let notification: Int64 = try #require(
                try self.stack.db.query("SELECT id FROM notifications WHERE kind = 'intake-confirm'").first?.decode(
                    "id"))
            try self.stack.db.transaction { tx in
                try NotificationStore.markSent(notification, providerID: "re_1", in: tx)
            }
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE id = $1 AND data ? 'confirmPath'", [notification]) == 0)
        }
    }

    @Test(
        "a stranger cannot lock an address out or fill its inbox: the limit is the sender's; past three unconfirmed briefs an address is sent no more links, and its owner still gets through"
    )
    func strangerNamingAnAddress() async throws {
        let events = StripeHistories.make(
            "sprint-once", catalog: TestEnvironment.plans, email: "victim@client.test", at: 1_764_000_000)!
        try stack.applyStripe(events.map(StripeIDs.body))
        try await fixture.run(.live) { api in
            for index in 0..<3 {
                let sent = try await self.submit(
                    api, #"{"name": "Mallory", "email": "victim@client.test", "brief": "Fake brief \#(index)"}"#,
                    from: "203.0.113.5")
                #expect(sent.status == .accepted)
            }
            let fourth = try await self.submit(
                api, #"{"name": "Mallory", "email": "victim@client.test", "brief": "Fake brief 3"}"#,
                from: "203.0.113.5")
            #expect(fourth.status == .tooManyRequests, "the sender is limited: \(fourth.json)")
            // Another sender (a second stranger) names it once more: taken, but no fourth link is sent.
            let other = try await self.submit(
                api, #"{"name": "Eve", "email": "victim@client.test", "brief": "Fake brief 4"}"#, from: "198.51.100.7")
            #expect(other.status == .accepted)
            // The owner, from its own address, is not refused.
            let owner = try await self.submit(
                api, #"{"name": "Victim", "email": "victim@client.test", "brief": "My real brief"}"#,
                from: "192.0.2.44")
            #expect(owner.status == .accepted, "\(owner.json)")
            #expect(
                try eventually {
                    try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'new-lead'") == 5
                })
            #expect(try self.stack.count("SELECT count(*) FROM leads WHERE email = 'victim@client.test'") == 5)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'intake-confirm'") == 3)
            #expect(try self.stack.count("SELECT count(*) FROM projects WHERE type = 'intake'") == 0)
        }
    }

    @Test("bad input, a bot's hidden field and a fourth brief within ten minutes are refused, and publish nothing")
    func refusals() async throws {
        try await fixture.run { api in
            for (body, field) in [
                (
                    #"{"name": "Bot", "email": "bot@spam.test", "brief": "Buy now", "website": "http://spam.test"}"#,
                    "website"
                ),
                (#"{"name": "A", "email": "a@b.test", "brief": "x", "phone": "123"}"#, "phone"),
                (#"{"name": "A", "email": "a@b.test"}"#, "brief"),
                (#"{"name": "A", "email": "not an address", "brief": "x"}"#, "email"),
                (#"{"name": "A", "email": "a@b.test", "brief": "x", "plan": "gold"}"#, "plan"),
                (#"{"name": "   ", "email": "a@b.test", "brief": "x"}"#, "name"),
            ] {
                let answer = try await self.submit(api, body)
                #expect(answer.status == .badRequest, "\(body)")
                #expect(answer.code == "invalid_field" && answer.error["field"] as? String == field, "\(answer.json)")
            }
            #expect(try await self.submit(api, "[1]").code == "invalid_body")
            for index in 0..<3 {
                let answer = try await self.submit(
                    api, #"{"name": "Eager", "email": "eager@co.test", "brief": "Brief \#(index)"}"#)
                #expect(answer.status == .accepted)
            }
            let limited = try await self.submit(
                api, #"{"name": "Eager", "email": "EAGER@co.test", "brief": "Brief 4"}"#)
            #expect(limited.status == .tooManyRequests, "\(limited.json)")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(try self.drained())
            #expect(try self.stack.count("SELECT count(*) FROM leads") == 3, "only the three accepted briefs")
        }
    }
}

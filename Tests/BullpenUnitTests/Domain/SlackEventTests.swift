import BullpenDomain
import Crypto
import Foundation
import Testing

@Suite("Slack events: signatures and what is taken")
struct SlackEventTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let body = Array(#"{"type":"event_callback","event_id":"Ev1"}"#.utf8)

    func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    func signature(_ secret: String, at t: Int, _ body: [UInt8]) -> String {
        WebhookSignature.slackHeader(
            signature: hmac(Array(secret.utf8), WebhookSignature.slackSigned(timestamp: t, body: body)))
    }

    func verify(
        _ timestamp: String?, _ signature: String?, secrets: [String] = ["slack-one"], body: [UInt8]? = nil
    ) -> Result<Int, WebhookSignature.Refusal> {
        WebhookSignature.verifySlack(
            timestamp: timestamp, signature: signature, body: body ?? self.body, secrets: secrets, now: now,
            hmac: hmac)
    }

    @Test("a fresh v0 signature of the exact body passes; another body, secret or time does not")
    func signatures() {
        let t = Int(now.timeIntervalSince1970) - 20
        let good = signature("slack-one", at: t, body)
        #expect(good.hasPrefix("v0=") && good.count == 67)
        #expect(verify("\(t)", good) == .success(t))
        #expect(verify("\(t)", good, body: body + [0x20]) == .failure(.mismatch))
        #expect(verify("\(t + 1)", good) == .failure(.mismatch), "the timestamp is signed too")
        #expect(verify("\(t)", signature("slack-two", at: t, body)) == .failure(.mismatch))
        #expect(
            verify("\(t)", signature("slack-two", at: t, body), secrets: ["slack-one", "slack-two"]) == .success(t))
        #expect(verify("\(t - 300)", signature("slack-one", at: t - 300, body)) == .failure(.stale(ageSeconds: 320)))
        // Stripe's scheme is not Slack's: the same secret signing "<t>.<body>" does not pass.
        let stripeStyle =
            "v0="
            + hmac(Array("slack-one".utf8), Array("\(t).".utf8) + body)
            .map { String(format: "%02x", $0) }.joined()
        #expect(verify("\(t)", stripeStyle) == .failure(.mismatch))
    }

    @Test("missing and malformed headers are told apart")
    func malformed() {
        let t = Int(now.timeIntervalSince1970)
        #expect(verify(nil, signature("slack-one", at: t, body)) == .failure(.missing))
        #expect(verify("\(t)", nil) == .failure(.missing))
        guard case .failure(.malformed) = verify("soon", signature("slack-one", at: t, body)) else {
            Issue.record("a timestamp that is not a number passed")
            return
        }
        guard case .failure(.malformed) = verify("\(t)", "v1=" + String(repeating: "a", count: 64)) else {
            Issue.record("another scheme passed")
            return
        }
        guard case .failure(.malformed) = verify("\(t)", "v0=abc") else {
            Issue.record("a short signature passed")
            return
        }
    }

    func parse(_ json: String) throws -> SlackEvent { try SlackEvent.parse(Array(json.utf8)) }

    @Test("a person's message is taken, with Slack's event id as its identity")
    func message() throws {
        let event = try parse(
            #"""
            {"type": "event_callback", "event_id": "Ev0A1", "team_id": "T1", "api_app_id": "A1", "event_time": 1,
             "event": {"type": "message", "channel": "C0123ABCD", "user": "U42", "text": "Can we move the launch?",
                       "ts": "1800000000.000100", "channel_type": "channel"}}
            """#)
        guard case .message(let message) = event else {
            Issue.record("not taken: \(event)")
            return
        }
        #expect(message.messageID == "slack:Ev0A1")
        #expect(message.channel == "C0123ABCD" && message.user == "U42" && message.teamId == "T1")
        #expect(message.text == "Can we move the launch?" && message.ts == "1800000000.000100")
        #expect(message.priority == 4)
    }

    @Test("the address check is answered; edits, bots, other events and envelopes are dropped with the reason")
    func others() throws {
        #expect(
            try parse(#"{"type": "url_verification", "challenge": "c-123", "token": "x"}"#)
                == .urlVerification(challenge: "c-123"))
        let message = #""type": "message", "channel": "C0123ABCD", "text": "hi", "ts": "1.2""#
        #expect(
            try parse(#"{"type": "event_callback", "event_id": "E1", "event": {\#(message), "bot_id": "B1"}}"#)
                == .ignored(eventID: "E1", reason: "a bot's message"))
        #expect(
            try parse(
                #"{"type": "event_callback", "event_id": "E2", "event": {\#(message), "subtype": "message_changed"}}"#)
                == .ignored(eventID: "E2", reason: "a message of subtype message_changed"))
        #expect(
            try parse(#"{"type": "event_callback", "event_id": "E3", "event": {"type": "reaction_added"}}"#)
                == .ignored(eventID: "E3", reason: "an event of type reaction_added"))
        #expect(
            try parse(
                #"{"type": "event_callback", "event_id": "E4", "event": {"type": "message", "channel": "C0123ABCD", "text": "  ", "ts": "1.2"}}"#
            ) == .ignored(eventID: "E4", reason: "a message with no text"))
        #expect(
            try parse(#"{"type": "app_rate_limited"}"#)
                == .ignored(eventID: nil, reason: "an envelope of type app_rate_limited"))
    }

    @Test("a body that is not Slack's shape names the field; a long message is cut to the thread's limit")
    func shape() throws {
        #expect(throws: ValidationError.self) { try parse(#"{"event_id": "E1"}"#) }
        do {
            _ = try parse(
                #"{"type": "event_callback", "event_id": "E1", "event": {"type": "message", "text": "x", "ts": "1"}}"#)
            Issue.record("a message with no channel was taken")
        } catch let error as ValidationError {
            #expect(error.field == "event.channel")
        }
        do {
            _ = try parse(#"{"type": "event_callback", "event_id": "E1"}"#)
            Issue.record("an event_callback with no event was taken")
        } catch let error as ValidationError {
            #expect(error.field == "event")
        }
        let long = String(repeating: "a", count: 12_000)
        guard
            case .message(let message) = try parse(
                #"{"type": "event_callback", "event_id": "E5", "event": {"type": "message", "channel": "C0123ABCD", "text": "\#(long)", "ts": "1"}}"#
            )
        else {
            Issue.record("a long message was not taken")
            return
        }
        #expect(message.text.count == SlackMessageReceived.maxTextLength)
    }

    @Test("a client's Slack channel id is C or G and capitals and digits")
    func channelIDs() throws {
        try Check.slackChannel("C0123ABCD", "slackChannelId")
        try Check.slackChannel("G01ABCDEFGH", "slackChannelId")
        try Check.slackChannel(nil, "slackChannelId")
        for bad in ["c0123abcd", "D0123ABCD", "C012", "#general", "C0123ABCD ", String(repeating: "C", count: 22)] {
            #expect(throws: ValidationError.self, "\(bad)") { try Check.slackChannel(bad, "slackChannelId") }
        }
    }
}

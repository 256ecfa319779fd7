import BullpenDomain
import Foundation
import HTTPClient
import Providers
import Testing

@testable import BullpenWorkers

@Suite("Provider answers and templates")
struct ProviderAnswersTests {
    func response(_ status: Int, _ body: String, _ headers: [(String, String)] = []) -> HTTPClientResponse {
        HTTPClientResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8))
    }

    func resendError(_ status: Int, _ name: String) -> String {
        #"{"statusCode":\#(status),"name":"\#(name)","message":"m"}"#
    }

    @Test("Resend: 200 sent with its id; 429, quota, concurrent 409 and 5xx retried; 4xx rejected with its message")
    func resend() {
        #expect(ResendClient.outcome(response(200, #"{"id":"e-1"}"#)) == .sent(providerID: "e-1"))
        #expect(
            ResendClient.outcome(response(429, resendError(429, "rate_limit_exceeded"), [("Retry-After", "7")]))
                == .retry(reason: "Resend 429 rate_limit_exceeded: m", after: .seconds(7)))
        #expect(
            ResendClient.outcome(response(429, resendError(429, "daily_quota_exceeded"), [("retry-after", "60")]))
                == .retry(reason: "Resend 429 daily_quota_exceeded: m", after: .seconds(3600)))
        #expect(
            ResendClient.outcome(response(409, resendError(409, "concurrent_idempotent_requests")))
                == .retry(reason: "Resend 409 concurrent_idempotent_requests: m", after: .seconds(1)))
        #expect(
            ResendClient.outcome(response(409, resendError(409, "invalid_idempotent_request")))
                == .rejected(reason: "Resend 409 invalid_idempotent_request: m"))
        #expect(
            ResendClient.outcome(response(503, "upstream down"))
                == .retry(reason: "Resend 503 : upstream down", after: nil))
        for status in [400, 401, 403, 404, 405, 422, 451] {
            #expect(
                ResendClient.outcome(response(status, resendError(status, "validation_error")))
                    == .rejected(reason: "Resend \(status) validation_error: m"))
        }
    }

    @Test("Resend's request: bearer key, JSON, the idempotency key; the key never in anything but the header")
    func resendRequest() throws {
        let client = ResendClient(baseURL: "http://127.0.0.1:1/", apiKey: "re_secret")
        let request = try client.request(
            Email(from: "B <b@x.test>", to: ["o@x.test"], subject: "S", html: "<p>h</p>", text: "t"),
            idempotencyKey: "bullpen-task-failed:1:1:email")
        #expect(request.url == "http://127.0.0.1:1/emails")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer re_secret" })
        #expect(
            request.headers.contains { $0.name == "Idempotency-Key" && $0.value == "bullpen-task-failed:1:1:email" })
        #expect(!String(decoding: request.body ?? [], as: UTF8.self).contains("re_secret"))
    }

    @Test("Slack and Discord: 2xx sent; 429 after Retry-After (Discord's retry_after first); 5xx retried; 4xx rejected")
    func chat() {
        #expect(SlackWebhook.outcome(response(200, "ok")) == .sent(providerID: nil))
        #expect(
            SlackWebhook.outcome(response(429, "rate_limited", [("Retry-After", "2")]))
                == .retry(reason: "Slack 429: rate_limited", after: .seconds(2)))
        #expect(
            SlackWebhook.outcome(response(404, "channel_not_found"))
                == .rejected(reason: "Slack 404: channel_not_found"))
        #expect(
            SlackWebhook.outcome(response(500, "rollup_error")) == .retry(reason: "Slack 500: rollup_error", after: nil)
        )
        #expect(DiscordWebhook.outcome(response(200, #"{"id":"m-1"}"#)) == .sent(providerID: "m-1"))
        #expect(DiscordWebhook.outcome(response(204, "")) == .sent(providerID: nil))
        #expect(
            DiscordWebhook.outcome(response(429, #"{"retry_after":1.5,"global":false}"#, [("Retry-After", "9")]))
                == .retry(reason: #"Discord 429: {"retry_after":1.5,"global":false}"#, after: .milliseconds(1500)))
        #expect(
            DiscordWebhook.outcome(response(404, #"{"code":10015}"#))
                == .rejected(reason: #"Discord 404: {"code":10015}"#))
    }

    @Test("every template renders with sample data: subject on one line, text unescaped, HTML escaped")
    func templates() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Config/templates").path
        let templates = try NotificationTemplates(folder: folder)
        let sample = [
            "taskId": "42", "title": "Launch <copy> & more", "attempt": "3", "reason": "gateway <down>",
            "error": "the model provider failed", "deliverableId": "7", "version": "2", "round": "2",
            "portalURL": "https://portal.test",
        ]
        // A sign-in link names no work: its values are the link and its minutes.
        let signIn = templates.render(
            .signInLink,
            ["portalURL": "https://portal.test", "confirmPath": "/signin/confirm?token=t&next=%2F", "minutes": "15"])
        #expect(signIn.subject == "Your sign-in link to Bullpen")
        #expect(
            signIn.text.contains("https://portal.test/signin/confirm?token=t&next=%2F")
                && signIn.text.contains("15 minutes"))
        #expect(signIn.html.contains("href=\"https://portal.test/signin/confirm?token=t&amp;next=%2F\""))
        for kind in NotificationKind.allCases where kind != .signInLink {
            let rendered = templates.render(kind, sample)
            #expect(!rendered.subject.isEmpty && !rendered.subject.contains("\n"), "\(kind)")
            #expect(rendered.subject.contains("Launch <copy> & more"), "\(kind)")
            #expect(rendered.text.contains("Launch <copy> & more"), "\(kind): text is not escaped")
            #expect(rendered.html.contains("Launch &lt;copy&gt; &amp; more"), "\(kind): HTML escapes values")
            #expect(!rendered.html.contains("<copy>"), "\(kind)")
            #expect(!rendered.text.contains("{{") && !rendered.html.contains("{{"), "\(kind)")
        }
        #expect(templates.render(.dispatchFailed, sample).text.contains("gateway <down>"))
        #expect(templates.render(.taskFailed, sample).text.contains("the model provider failed"))
        #expect(templates.render(.taskFailed, sample).subject.contains("42"))
        #expect(templates.render(.reviewWaiting, sample).text.contains("bullpen deliverable deliver 7"))
        #expect(templates.render(.deliverableReady, sample).text.contains("https://portal.test/deliverables/7"))
        #expect(
            templates.render(.deliverableReady, sample).html.contains(#"href="https://portal.test/deliverables/7""#))
        #expect(templates.render(.revisionInProgress, sample).text.contains("revision round 2"))
        #expect(throws: NotificationTemplates.MissingTemplate.self) {
            try NotificationTemplates(folder: "/nonexistent")
        }
    }
}

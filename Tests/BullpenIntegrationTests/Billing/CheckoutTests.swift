import BullpenDomain
import BullpenIngest
import BullpenMessaging
import BullpenSandbox
import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Providers
import Testing

/// A client's purchase end to end on the real services: `POST /v1/checkout` creates a session on the sandbox's
/// Stripe (form-encoded, the secret key, an Idempotency-Key); the sandbox "pays" it and sends Stripe's
/// webhooks, signed, shuffled and duplicated, to ingest; the billing worker gives birth to the client. Then
/// its payment fails and it cancels.
@Suite("Checkout", .serialized)
final class CheckoutTests: @unchecked Sendable {
    let stack: StackFixture
    static let secret = "whsec_checkout_tests"

    init() throws {
        stack = try StackFixture("checkout", adjust: StackFixture.fastBilling)
    }
    deinit { stack.tearDown() }

    func settings(port: Int, key: String = "sk_test_bullpen") -> IngestConfiguration.CheckoutSettings {
        .init(
            stripe: StripeClient(baseURL: "http://127.0.0.1:\(port)", secretKey: key, timeout: .seconds(5)),
            catalog: TestEnvironment.plans, successURL: "https://portal.test/welcome?session_id={CHECKOUT_SESSION_ID}",
            cancelURL: "https://agency.test/#pricing")
    }

    static func call(_ url: String, _ body: String = "{}") async throws -> [String: Any] {
        let request = HTTPClientRequest(
            method: "POST", url: url, headers: [("Content-Type", "application/json")], body: Array(body.utf8),
            timeout: .seconds(30))
        let response = try await Blocking.run { try CurlClient.perform(request) }
        return (try JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    @Test("checkout -> a session on Stripe -> paid -> signed webhooks, shuffled -> a client with its plan")
    func purchase() async throws {
        let stripe = SandboxStripe(
            configuration: .init(port: 0, webhookURL: nil, webhookSecret: Self.secret, catalog: TestEnvironment.plans),
            logger: Logger(label: "test.stripe"))
        try await stripe.application().test(.live) { stripeApp in
            let stripePort = try #require(stripeApp.port)
            let server = try self.stack.ingest(
                stripeWebhookSecrets: [Self.secret], checkout: self.settings(port: stripePort))
            let consumer = try self.stack.consumer(queue: .billing)
            consumer.start()
            defer { consumer.stop() }
            try await server.application().test(.live) { client in
                try await TaskResultIngestTests.connected(server.publisher)
                let ingestPort = try #require(client.port)
                stripe.setWebhookURL("http://127.0.0.1:\(ingestPort)/webhooks/stripe")
                func checkout(_ body: String, key: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
                    let response = try await client.executeRequest(
                        uri: "/v1/checkout", method: .post, headers: headers, body: ByteBuffer(string: body))
                    return (
                        response.status,
                        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)))
                            as? [String: Any] ?? [:]
                    )
                }
                let ask = #"{"plan": "pro", "email": "founder@newco.test", "brief": "Our launch copy"}"#
                let (status, started) = try await checkout(ask, key: "buy-1")
                #expect(status == .ok, "\(started)")
                let session = try #require(started["sessionId"] as? String)
                #expect(session.hasPrefix("cs_test_") && (started["url"] as? String)?.contains(session) == true)
                let (_, again) = try await checkout(ask, key: "buy-1")
                #expect(again["sessionId"] as? String == session, "the same Idempotency-Key: the same session")
                let (bad, refused) = try await checkout(#"{"plan": "gold", "email": "founder@newco.test"}"#)
                #expect(bad == .badRequest && (refused["error"] as? [String: Any])?["field"] as? String == "plan")
                _ = try await checkout(ask)
                let (limited, limitedBody) = try await checkout(ask)
                #expect(
                    limited == .tooManyRequests,
                    "three sessions per address, then one every ten minutes: \(limitedBody)")

                // The client pays; Stripe's webhooks arrive shuffled, two of them twice.
                let paid = try await Self.call(
                    "http://127.0.0.1:\(stripePort)/sandbox/checkout/sessions/\(session)/pay",
                    #"{"order": "shuffled", "duplicates": 2}"#)
                let deliveries = try #require(paid["deliveries"] as? [[String: String]])
                #expect(deliveries.count == 5 && deliveries.allSatisfy { $0["status"] == "200" }, "\(deliveries)")
                let customer = try #require((paid["customer"] as? [[String: String]])?.first?["id"])
                #expect(
                    try eventually(timeout: .seconds(30)) {
                        try self.stack.count(
                            """
                            SELECT count(*) FROM clients c JOIN subscriptions s ON s.client_id = c.id
                              JOIN projects p ON p.subscription_id = s.id
                             WHERE c.email = 'founder@newco.test' AND c.stripe_customer_id = $1 AND s.plan = 'pro'
                               AND s.status = 'active' AND p.status = 'intake' AND p.brief = 'Our launch copy'
                               AND s.period_end IS NOT NULL
                            """, [customer]) == 1
                    }, "a client born from a signed Stripe event")
                #expect(
                    try self.stack.count(
                        "SELECT count(*) FROM notifications WHERE kind = 'welcome' AND recipient = 'founder@newco.test'"
                    )
                        == 1)

                // The next renewal fails; then the client cancels.
                _ = try await Self.call(
                    "http://127.0.0.1:\(stripePort)/sandbox/customers/\(customer)/fail", #"{"attempts": 1}"#)
                #expect(
                    try eventually(timeout: .seconds(30)) {
                        try self.stack.count(
                            "SELECT count(*) FROM subscriptions WHERE stripe_customer_id = $1 AND status = 'past_due'",
                            [customer]) == 1
                    })
                _ = try await Self.call("http://127.0.0.1:\(stripePort)/sandbox/customers/\(customer)/cancel")
                #expect(
                    try eventually(timeout: .seconds(30)) {
                        try self.stack.count(
                            "SELECT count(*) FROM subscriptions WHERE stripe_customer_id = $1 AND status = 'canceled'",
                            [customer]) == 1
                    })
                #expect(consumer.statistics.parked == 0)
            }
        }
    }

    @Test("Stripe refuses the key: 502 with Stripe's message and never the key; no Stripe key: 503")
    func refusals() async throws {
        let stripe = SandboxStripe(
            configuration: .init(port: 0, webhookURL: nil, webhookSecret: Self.secret, catalog: TestEnvironment.plans),
            logger: Logger(label: "test.stripe"))
        try await stripe.application().test(.live) { stripeApp in
            let port = try #require(stripeApp.port)
            for (checkout, expected) in [
                (self.settings(port: port, key: "sk_live_not_the_sandbox"), HTTPResponse.Status.badGateway),
                (nil, .serviceUnavailable),
            ] {
                let server = try self.stack.ingest(checkout: checkout)
                try await server.application().test(.router) { client in
                    let response = try await client.executeRequest(
                        uri: "/v1/checkout", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"plan": "sprint", "email": "a@b.test"}"#))
                    let text = String(buffer: response.body)
                    #expect(response.status == expected, "\(text)")
                    #expect(!text.contains("sk_live"), "the key never reaches an answer")
                    if expected == .badGateway { #expect(text.contains("Invalid API Key provided")) }
                }
            }
            #expect(stripe.snapshot.sessions == 0)
        }
    }
}

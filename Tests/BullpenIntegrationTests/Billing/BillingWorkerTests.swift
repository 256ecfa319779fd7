import BullpenDomain
import BullpenIngest
import BullpenMessaging
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgreSQL
import Testing

/// The billing worker on the real PostgreSQL and RabbitMQ: Stripe's histories applied in order, shuffled and
/// duplicated end in one state; through ingest and a billing consumer, the events that arrive before their
/// checkout wait through the queue's delay tiers; each email once.
@Suite("Billing worker", .serialized)
final class BillingWorkerTests: @unchecked Sendable {
    let stack: StackFixture
    static let secret = "whsec_billing_tests_secret"

    init() throws {
        stack = try StackFixture("billing", adjust: StackFixture.fastBilling)
    }
    deinit { stack.tearDown() }

    /// A history with every Stripe id and the email made unique to `run`, so that several runs share a schema.
    static func history(_ name: String, run: String) throws -> [[UInt8]] {
        let events = StripeHistories.make(
            name, catalog: TestEnvironment.plans, email: "ada@example.com", at: 1_764_000_000)!
        let regex = try NSRegularExpression(pattern: #"(?<=["/])(evt|cus|sub|in|pi|cs)_"#)
        return events.map { event in
            let text = String(decoding: StripeIDs.body(event), as: UTF8.self)
            let renamed = regex.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1_\(run)")
            return Array(renamed.replacingOccurrences(of: "ada@example.com", with: "ada+\(run)@example.com").utf8)
        }
    }

    /// Applies deliveries as the worker would, one transaction each, once per event id; a waiting one again
    /// after the others.
    func play(_ deliveries: [[UInt8]]) throws {
        var seen: Set<String> = []
        var queue = deliveries[...]
        var rounds = 0
        while let body = queue.popFirst() {
            rounds += 1
            guard rounds < 1_000 else { throw TestFailure("events keep waiting") }
            let event = try StripeEvent.parse(body)
            guard event.isHandled, !seen.contains(event.id) else { continue }
            let billing = try BillingEvent.parse(type: event.type, body: event.body)
            let outcome = try stack.db.transaction { tx in
                try BillingStore.apply(
                    billing, version: BillingVersion(created: event.created, eventID: event.id),
                    messageID: "stripe:\(event.id)", now: Date(), in: tx)
            }
            if case .waiting = outcome { queue.append(body) } else { seen.insert(event.id) }
        }
    }

    /// What a customer's billing came to, without ids: the client, its subscription and its invoices.
    func snapshot(run: String) throws -> String {
        try stack.db.query(
            """
            SELECT jsonb_build_object(
                'client', (SELECT jsonb_build_object('plan', c.plan, 'status', c.status, 'email', c.email)
                             FROM clients c WHERE c.stripe_customer_id LIKE 'cus\\_' || $1 || '%'),
                'subscriptions', (SELECT jsonb_agg(jsonb_build_object(
                        'plan', plan, 'status', status, 'pending', pending_plan,
                        'pendingFrom', extract(epoch FROM pending_from), 'start', extract(epoch FROM period_start),
                        'end', extract(epoch FROM period_end), 'cancelAtEnd', cancel_at_period_end,
                        'canceledAt', extract(epoch FROM canceled_at), 'included', deliverables_included,
                        'price', price_amount_cents, 'revisions', revision_rounds, 'hours', response_time_hours))
                    FROM subscriptions WHERE stripe_customer_id LIKE 'cus\\_' || $1 || '%'),
                'invoices', (SELECT jsonb_agg(jsonb_build_object(
                        'status', i.status, 'attempts', i.attempt_count, 'paid', i.amount_cents,
                        'due', i.amount_due_cents, 'paidAt', extract(epoch FROM i.paid_at),
                        'start', extract(epoch FROM i.period_start)) ORDER BY i.period_start)
                    FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id
                   WHERE s.stripe_customer_id LIKE 'cus\\_' || $1 || '%'),
                'projects', (SELECT count(*) FROM projects p JOIN clients c ON c.id = p.client_id
                              WHERE c.stripe_customer_id LIKE 'cus\\_' || $1 || '%'))::text AS state
            """, [run]
        ).first!.decode("state", as: String.self)
            .replacingOccurrences(of: "+\(run)@", with: "@")
    }

    @Test(
        "each history: in order, then shuffled and duplicated orders, all end in one state",
        arguments: StripeHistories.names)
    func permutations(history name: String) throws {
        try play(Self.history(name, run: "o"))
        let expected = try snapshot(run: "o")
        #expect(expected.contains(#""status": "active""#) || expected.contains(#""status": "canceled""#))
        var generator = SystemRandomNumberGenerator()
        for run in 1...6 {
            var deliveries = try Self.history(name, run: "p\(run)")
            for body in deliveries where Bool.random(using: &generator) { deliveries.append(body) }
            try play(deliveries.shuffled(using: &generator))
            #expect(try snapshot(run: "p\(run)") == expected, "run \(run) of \(name)")
        }
    }

    @Test("in order: a Pro client is born, pays, fails, upgrades and cancels; the rows say so")
    func proLifecycle() throws {
        try play(Self.history("pro-lifecycle", run: "a"))
        let row = try #require(
            try stack.db.query(
                """
                SELECT s.plan, s.status, s.deliverables_included, s.response_time_hours, s.cancel_at_period_end,
                       c.status AS client_status, c.plan AS client_plan, c.name,
                       (SELECT count(*) FROM invoices i WHERE i.subscription_id = s.id AND i.status = 'paid') AS paid,
                       (SELECT max(attempt_count) FROM invoices i WHERE i.subscription_id = s.id) AS attempts,
                       (SELECT p.status || ':' || p.brief FROM projects p WHERE p.subscription_id = s.id) AS project,
                       (SELECT count(*) FROM sla_records r WHERE r.client_id = c.id AND r.type = 'first_response') AS slas
                  FROM subscriptions s JOIN clients c ON c.id = s.client_id
                 WHERE s.stripe_customer_id LIKE 'cus\\_a%'
                """
            ).first)
        #expect(try row.decode("plan", as: String.self) == "scale", "the upgrade took effect at once")
        #expect(try row.decode("status", as: String.self) == "canceled")
        #expect(try row.decode("deliverables_included", as: Int?.self) == nil, "Scale's terms: unlimited")
        #expect(try row.decode("response_time_hours", as: Int.self) == 8)
        #expect(try row.decode("client_status", as: String.self) == "churned")
        #expect(try row.decode("name", as: String.self) == "Ada Client")
        #expect(try row.decode("paid", as: Int.self) == 4 && row.decode("attempts", as: Int.self) == 3)
        #expect(try row.decode("project", as: String.self) == "intake:Launch copy for our new product")
        #expect(try row.decode("slas", as: Int.self) == 1, "the first-response SLA is recorded with the purchase")
        let events = try stack.db.query(
            """
            SELECT type, count(*) AS n FROM events WHERE type LIKE 'billing.%' AND message_id LIKE 'stripe:evt\\_a%'
             GROUP BY type
            """
        ).rows.reduce(into: [String: Int]()) { $0[try $1.decode("type")] = try $1.decode("n") }
        #expect(
            events == [
                "billing.checkout_completed": 1, "billing.invoice_paid": 4, "billing.payment_failed": 2,
                "billing.plan_changed": 1, "billing.subscription_canceled": 1,
            ], "\(events)")
    }

    @Test("a returning client (a new Stripe customer, the same email) is the same client with a second subscription")
    func returningClient() throws {
        let plans = TestEnvironment.plans
        var first = StripeAccount(email: "Back@Again.test", name: "Back", plan: plans[.sprint], at: 1_764_000_000)
        var second = StripeAccount(email: "back@again.test", name: "Back", plan: plans[.pro], at: 1_765_000_000)
        try stack.applyStripe(first.checkout(sessionID: "cs_test_back_1").map(StripeIDs.body))
        try stack.applyStripe(second.checkout(sessionID: "cs_test_back_2").map(StripeIDs.body))
        #expect(try stack.count("SELECT count(*) FROM clients WHERE lower(email) = 'back@again.test'") == 1)
        #expect(
            try stack.count(
                """
                SELECT count(*) FROM subscriptions s JOIN clients c ON c.id = s.client_id
                 WHERE lower(c.email) = 'back@again.test' AND c.plan = 'pro' AND c.stripe_customer_id = $1
                """, [first.customer]) == 2)
    }

    /// Posts Stripe-signed webhooks through ingest, in the order given; each answered 200.
    func postSigned(_ deliveries: [[UInt8]]) async throws {
        let server = try stack.ingest(stripeWebhookSecrets: [Self.secret])
        try await server.application().test(.router) { client in
            try await TaskResultIngestTests.connected(server.publisher)
            for body in deliveries {
                let response = try await client.executeRequest(
                    uri: "/webhooks/stripe", method: .post,
                    headers: [
                        .contentType: "application/json",
                        HTTPField.Name("Stripe-Signature")!: SandboxSigning.header(body: body, secret: Self.secret),
                    ], body: ByteBuffer(bytes: body))
                #expect(response.status == .ok)
            }
        }
    }

    @Test("through ingest and the billing worker: shuffled, duplicated signed webhooks; welcome and receipts once")
    func endToEnd() async throws {
        let consumer = try stack.consumer(queue: .billing)
        consumer.start()
        defer { consumer.stop() }
        try play(Self.history("pro-lifecycle", run: "r"))
        let expected = try snapshot(run: "r")
        let history = try Self.history("pro-lifecycle", run: "w")
        try await postSigned((history + history.prefix(4)).shuffled())
        #expect(
            try eventually(timeout: .seconds(60)) { try self.snapshot(run: "w") == expected },
            "the worker, with events waiting for their checkout, reaches the in-order state")
        #expect(consumer.statistics.parked == 0)
        let kinds = try stack.db.query(
            """
            SELECT kind, count(*) AS n FROM notifications n JOIN clients c ON c.id = n.client_id
             WHERE c.stripe_customer_id LIKE 'cus\\_w%' AND n.channel = 'email' GROUP BY kind
            """
        ).rows.reduce(into: [String: Int]()) { $0[try $1.decode("kind")] = try $1.decode("n") }
        #expect(kinds["welcome"] == 1 && kinds["receipt"] == 4, "\(kinds)")
        // One per failed attempt that arrived while its invoice was still unpaid: two in Stripe's order, none
        // when the invoice's payment arrived before its failures (no email asking to fix a paid invoice).
        #expect((0...2).contains(kinds["payment-failed"] ?? 0), "each newer failed attempt at most once: \(kinds)")
        #expect(
            try stack.count(
                "SELECT count(*) FROM notifications WHERE kind = 'billing-alert' AND key LIKE 'billing-alert:canceled-%'"
            ) == 1)
    }

    @Test(
        "two billing consumers, batches of mixed customers: one customer's events applied one transaction at a time, no deadlock, each history ends as in order, and every failed attempt is told once"
    )
    func twoConsumers() async throws {
        let runs = ["ta", "tb", "tc", "td"]
        for run in runs { try play(Self.history("pro-lifecycle", run: run)) }
        let expected = try runs.map { try snapshot(run: $0) }
        // The same histories as new customers, interleaved event by event, each customer's in Stripe's order:
        // batches of five mix customers, and one customer's events land in both consumers' batches.
        let histories = try runs.map { try Self.history("pro-lifecycle", run: "x" + $0.dropFirst()) }
        var interleaved: [[UInt8]] = []
        for index in 0..<(histories.map(\.count).max() ?? 0) {
            for history in histories where index < history.count { interleaved.append(history[index]) }
        }
        let consumers = try (0..<2).map { _ in try stack.consumer(queue: .billing, batchSize: 5) }
        try await postSigned(interleaved)
        for consumer in consumers { consumer.start() }
        defer { for consumer in consumers { consumer.stop() } }
        for (run, state) in zip(runs, expected) {
            let mixed = "x" + run.dropFirst()
            #expect(
                try eventually(timeout: .seconds(60)) { try self.snapshot(run: mixed) == state },
                "\(mixed) reaches the in-order state")
        }
        #expect(consumers.map(\.statistics.parked).reduce(0, +) == 0)
        // Each failed attempt told at most once (its key), whichever consumer applied it; both, unless a
        // consumer applied the invoice's payment first (no email about a paid invoice). The order rule
        // itself is the unit test's (BillingLedgerTests/failedAttemptsInAnyOrder).
        for run in runs {
            let told = try stack.db.query(
                """
                SELECT n.key FROM notifications n JOIN clients c ON c.id = n.client_id
                 WHERE c.stripe_customer_id LIKE 'cus\\_x' || $1 || '%' AND n.kind = 'payment-failed'
                """, [String(run.dropFirst())]
            ).rows.map { try $0.decode("key", as: String.self) }
            #expect(told.count <= 2 && Set(told).count == told.count, "\(run): \(told)")
        }
    }
}

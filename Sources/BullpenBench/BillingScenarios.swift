import BullpenDomain
import BullpenSandbox
import BullpenStore
import Foundation
import HTTPClient
import PostgreSQL

/// i. Billing: Stripe's signed webhooks into ingest, and the billing worker applying events.
extension Scenarios {
    /// C connections post `invoice.paid` events, each with an id of its own, signed as Stripe signs, for
    /// `seconds`: the rate of 200s (answered after the broker's confirm) and their latency. The requests are
    /// made (and signed) before the clock starts, so that the load generator's own HMACs, on the same two
    /// cores, do not count against ingest (the task-result generator's requests cost next to nothing).
    func stripeIngest(url: String, secret: String, connections: Int, seconds: Double) {
        let template = String(
            decoding: StripeIDs.body([
                "id": "evt_EVENTID", "object": "event", "type": "invoice.paid", "created": 1_764_000_000,
                "livemode": false, "api_version": StripeAccount.apiVersion,
                "data": [
                    "object": [
                        "id": "in_EVENTID", "object": "invoice", "customer": "cus_bench", "subscription": "sub_bench",
                        "amount_due": 450_000, "amount_paid": 450_000, "currency": "usd", "attempt_count": 1,
                        "period_start": 1_764_000_000, "period_end": 1_766_592_000,
                    ] as [String: Any]
                ],
            ]), as: UTF8.self)
        let perThread = Int(seconds * 8000) / connections + 16
        let requests = (0..<connections).map { thread in
            (0..<perThread).map { i in
                let body = Array(template.replacingOccurrences(of: "EVENTID", with: "\(salt)x\(thread)x\(i)").utf8)
                return HTTPClientRequest(
                    method: "POST", url: url,
                    headers: [
                        ("Content-Type", "application/json"),
                        ("Stripe-Signature", SandboxSigning.header(body: body, secret: secret)),
                    ], body: body, timeout: .seconds(10))
            }
        }
        var result = closedLoop(connections: connections, seconds: seconds) { thread, i in
            requests[thread][i % perThread]
        }
        result["scenario"] = "stripe-ingest"
        emit(result)
    }

    /// Publishes `customers` customers' histories to the billing queue, the checkouts first, then each
    /// customer's later events in Stripe's order (its first invoice, a renewal, an upgrade): four events each.
    func publishBilling(customers: Int) throws {
        let catalog = try PlanCatalog.load(
            from: ProcessInfo.processInfo.environment["BULLPEN_PLANS"] ?? "Config/plans.json")
        let run = "\(salt)t\(Int(Date().timeIntervalSince1970))"
        var checkouts: [StripeEventMessage] = []
        var later: [StripeEventMessage] = []
        for index in 0..<customers {
            var account = StripeAccount(
                email: "bench-\(run)-\(index)@client.test", name: "Bench \(index)", plan: catalog[.pro],
                at: 1_764_000_000)
            let events =
                account.checkout(sessionID: "cs_test_\(run)_\(index)") + account.renew()
                + account.changePrice(to: catalog[.scale].stripePriceId)
            let messages = try events.map { StripeEventMessage(event: try StripeEvent.parse(StripeIDs.body($0))) }
                .filter { StripeEvent.handledTypes.contains($0.type) }
            checkouts.append(messages[0])
            later += messages.dropFirst()
        }
        try publishAll(checkouts + later, scenario: "billing-publish")
    }

    /// Waits until the billing worker applied `events` events; events applied per second from the first to
    /// the last (the inbox's times).
    func awaitBilling(events: Int, label: [String: Any], db: PGConnection) throws {
        let deadline = wallClock() + 600
        var applied = 0
        while wallClock() < deadline {
            applied = try db.query("SELECT count(*) AS n FROM inbox WHERE message_type = 'stripe.event'").first!
                .decode("n")
            if applied >= events { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let span =
            try db.query(
                "SELECT extract(epoch FROM max(processed_at) - min(processed_at))::float8 AS span FROM inbox WHERE message_type = 'stripe.event'"
            ).first!.decode("span", as: Double?.self) ?? 0
        var result = label
        result["scenario"] = "billing"
        result["applied"] = applied
        result["seconds"] = round3(span)
        result["applied_per_s"] = span > 0 ? round3(Double(applied) / span) : 0
        result["subscriptions"] = try db.query("SELECT count(*) AS n FROM subscriptions WHERE plan = 'scale'").first!
            .decode("n", as: Int.self)
        emit(result)
    }
}

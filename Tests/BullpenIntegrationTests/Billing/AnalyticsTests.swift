import BullpenDomain
import BullpenFixtures
import BullpenSandbox
import BullpenStore
import Foundation
import PostgreSQL
import Testing

/// The daily billing snapshot and the weekly rollup on the real PostgreSQL, from clients born of Stripe's
/// events and work delivered; read through the operator API; invoices read by their own client only.
@Suite("Analytics", .serialized)
final class AnalyticsTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("analytics") }
    deinit { fixture.tearDown() }

    func apply(_ events: [[String: Any]]) throws { try stack.applyStripe(events.map(StripeIDs.body)) }

    @Test(
        "a day's snapshot per plan: active subscriptions, MRR, revenue, new and churned; a later day after a cancellation"
    )
    func snapshot() async throws {
        // Today, an hour after midnight UTC: a Sprint, a Pro and a Scale bought (the subscriptions paid their
        // first invoices); the Scale one canceled at its period's end, thirty days on.
        let midnight = Int64(Date().timeIntervalSince1970) / 86_400 * 86_400
        let plans = TestEnvironment.plans
        var sprint = StripeAccount(email: "s@a.test", name: "S", plan: plans[.sprint], at: midnight + 3600)
        var pro = StripeAccount(email: "p@a.test", name: "P", plan: plans[.pro], at: midnight + 3600)
        var scale = StripeAccount(email: "c@a.test", name: "C", plan: plans[.scale], at: midnight + 3600)
        try apply(sprint.checkout(sessionID: "cs_test_an_s"))
        try apply(pro.checkout(sessionID: "cs_test_an_p"))
        try apply(scale.checkout(sessionID: "cs_test_an_c") + scale.cancel())
        let today = Date(timeIntervalSince1970: Double(midnight + 7200))
        let later = today.addingTimeInterval(30 * 86_400)
        try stack.db.transaction { tx in
            try AnalyticsStore.snapshot(day: today, in: tx)
            try AnalyticsStore.snapshot(day: today, in: tx)  // again: replaced, not added
            try AnalyticsStore.snapshot(day: later, in: tx)
        }
        func row(_ day: Date, _ plan: String) throws -> [Int64] {
            let row = try #require(
                try stack.db.query(
                    "SELECT * FROM billing_snapshots WHERE day = ($1::timestamptz AT TIME ZONE 'UTC')::date AND plan = $2",
                    [day, plan]
                ).first)
            return try ["active_subscriptions", "mrr_cents", "revenue_cents", "new_clients", "churned_clients"].map {
                try row.decode($0, as: Int64.self)
            }
        }
        #expect(try row(today, "sprint") == [1, 0, 250_000, 1, 0], "a one-time Sprint: revenue, no MRR")
        #expect(try row(today, "pro") == [1, 450_000, 450_000, 1, 0])
        #expect(try row(today, "scale") == [1, 900_000, 900_000, 1, 0])
        #expect(try row(later, "scale") == [0, 0, 0, 0, 1], "canceled at its period's end: churned that day")
        #expect(try row(later, "pro") == [1, 450_000, 0, 0, 0])
        #expect(try stack.count("SELECT count(*) FROM billing_snapshots") == 6)

        try await fixture.run { api in
            let day = String(ISO8601DateFormatter().string(from: today).prefix(10))
            let answer = try await api.get("/v1/analytics/billing?from=\(day)&to=\(day)")
            #expect(answer.status == .ok)
            let first = try #require(answer.data.first)
            #expect(jsonID(first["mrrCents"]) == 1_350_000 && jsonID(first["revenueCents"]) == 1_600_000)
            #expect(jsonID(first["activeSubscriptions"]) == 3 && jsonID(first["newClients"]) == 3)
            let bad = try await api.get("/v1/analytics/billing?from=yesterday")
            #expect(bad.status == .badRequest && bad.error["field"] as? String == "from")

            // Invoices: a client reads its own; analytics are the operators'.
            let proClient = try #require(
                try self.stack.db.query("SELECT id FROM clients WHERE email = 'p@a.test'").first?.decode(
                    "id", as: Int64.self))
            let token = try ApiTokens.create(name: "p", role: .client, clientID: proClient, on: self.stack.db).secret
            let own = try await api.with(token: token).get("/v1/invoices")
            #expect(own.data.count == 1 && own.data.allSatisfy { jsonID($0["clientId"]) == proClient })
            #expect(own.data.first?["status"] as? String == "paid" && jsonID(own.data.first?["amountCents"]) == 450_000)
            #expect(try await api.get("/v1/invoices").data.count == 2, "the operators see Pro's and Scale's")
            #expect(try await api.with(token: token).get("/v1/analytics/billing").status == .forbidden)
        }
    }

    @Test(
        "the week's rollup: delivered, turnaround from the first run, revisions, SLAs, ratings, agents' runs and cost")
    func weekly() async throws {
        let seeded = try DemoData.seedRunningTask(token: DemoData.randomToken(), on: stack.db)
        // The run began 10 hours ago and took one, all inside this UTC week (Monday 00:00): in a week's first
        // hours the span shrinks to fit (the run counts where it closed; a run of last week is not this week's).
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let weekStart = calendar.dateInterval(of: .weekOfYear, for: Date())!.start
        if Date().timeIntervalSince(weekStart) < 120 { try await Task.sleep(for: .seconds(120)) }
        let span = min(10 * 3600, Date().timeIntervalSince(weekStart) - 60)
        try stack.db.query(
            """
            UPDATE task_attempts SET opened_at = now() - $2 * interval '1 second',
                                     closed_at = now() - $2 * 0.9 * interval '1 second', outcome = 'completed'
             WHERE task_id = $1
            """, [seeded.taskID, span])
        try stack.db.query("UPDATE agents SET cost_per_task_cents = 150 WHERE id = $1", [seeded.agentID])
        try stack.db.query(
            "UPDATE tasks SET status = 'completed', result = 'copy', completed_at = now() WHERE id = $1",
            [seeded.taskID])
        for round in 1...2 {
            let version = try #require(
                try stack.db.transaction { tx in
                    try DeliverableStore.openVersions(completed: [seeded.taskID], messageID: "w\(round)", in: tx)
                }.first?.id)
            _ = try stack.db.transaction { tx in
                try DeliverableStore.decide(
                    id: version, deliver: true, reviewer: "ops", notes: nil, messageID: "d\(round)", now: Date(), in: tx
                )
            }
            try stack.db.query("UPDATE deliverables SET client_rating = $2 WHERE id = $1", [version, 3 + round])
        }
        try stack.db.transaction { tx in try AnalyticsStore.rollup(week: Date(), in: tx) }
        try await fixture.run { api in
            let week = try #require(try await api.get("/v1/analytics/weekly").data.last)
            #expect(jsonID(week["deliverablesDelivered"]) == 2)
            let turnaround = try #require((week["avgTurnaroundHours"] as? NSNumber)?.doubleValue)
            let hours = span / 3600
            #expect((hours - 0.01...hours + 0.5).contains(turnaround), "from the first run to delivery: \(turnaround)")
            #expect((week["revisionsPerDeliverable"] as? NSNumber)?.doubleValue == 0.5, "versions 1 and 2")
            #expect((week["avgRating"] as? NSNumber)?.doubleValue == 4.5 && jsonID(week["ratings"]) == 2)
            let agent = try #require((week["agents"] as? [[String: Any]])?.first)
            #expect(jsonID(agent["agentId"]) == seeded.agentID && jsonID(agent["completed"]) == 1)
            #expect(jsonID(agent["costCents"]) == 150 && jsonID(agent["failed"]) == 0)
            let duration = try #require((agent["avgDurationMs"] as? NSNumber)?.doubleValue)
            #expect(abs(duration - span * 100) < 1000, "a tenth of the span, in ms")
        }
        // A run whose usage the gateway reported costs that, not the agent's rate (to the cent, in the rollup).
        try stack.db.query("UPDATE task_attempts SET cost_cents = 37.4 WHERE task_id = $1", [seeded.taskID])
        try stack.db.transaction { tx in try AnalyticsStore.rollup(week: Date(), in: tx) }
        try await fixture.run { api in
            let week = try #require(try await api.get("/v1/analytics/weekly").data.last)
            let agent = try #require((week["agents"] as? [[String: Any]])?.first)
            #expect(jsonID(agent["costCents"]) == 37)
            // Per client: the run's cost to the cent, what the client paid this week, the margin.
            let client = try #require((week["clients"] as? [[String: Any]])?.first { $0["runs"] as? Int == 1 })
            let number = { (key: String) in (client[key] as? NSNumber)?.doubleValue }
            #expect(number("agentCostCents") == 37.4)
            let paid = try #require(number("revenueCents"))
            #expect(number("marginCents") == ((paid - 37.4) * 100).rounded() / 100)
        }
        // Money paid this week counts for its client, runs or not.
        let payer = try #require(try stack.db.query("SELECT id FROM clients ORDER BY id LIMIT 1").first).decode(
            "id", as: Int64.self)
        try stack.db.query(
            """
            INSERT INTO invoices (client_id, stripe_invoice_id, status, amount_cents, amount_due_cents, currency, paid_at)
            VALUES ($1, 'in_week_paid', 'paid', 120000, 0, 'usd', now())
            """, [payer])
        try stack.db.transaction { tx in try AnalyticsStore.rollup(week: Date(), in: tx) }
        let paidThisWeek = try stack.count(
            """
            SELECT coalesce(sum(amount_cents), 0)::int FROM invoices
             WHERE client_id = $1 AND status = 'paid' AND paid_at >= date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            """, [payer])
        try await fixture.run { api in
            let week = try #require(try await api.get("/v1/analytics/weekly").data.last)
            let client = try #require((week["clients"] as? [[String: Any]])?.first { jsonID($0["clientId"]) == payer })
            #expect(jsonID(client["revenueCents"]) == Int64(paidThisWeek))
        }
    }
}

import BullpenDomain
import BullpenSandbox
import Foundation
import Testing

/// The billing rules on their own: each realistic history of Stripe events, shuffled and duplicated, ends in
/// the state of the history in order, and tells people each thing once.
@Suite("Billing rules")
struct BillingLedgerTests {
    static let catalog = try! PlanCatalog.load(from: Repository.root + "/Config/plans.json")

    /// The billing worker's rules without its tables: subscriptions and invoices by Stripe id; an event
    /// whose subscription is not known yet waits (goes to the back, as the queue's delay tiers do).
    struct Ledger: Equatable {
        var subscriptions: [String: SubscriptionState] = [:]
        var invoices: [String: InvoiceState] = [:]
        var notices: [BillingNotice] = []

        /// An event as delivered, read once.
        struct Delivery {
            var version: BillingVersion
            var event: BillingEvent?

            init(_ body: [UInt8]) throws {
                let event = try StripeEvent.parse(body)
                version = BillingVersion(created: event.created, eventID: event.id)
                self.event =
                    event.isHandled
                    ? try BillingEvent.parse(type: event.type, body: event.body)
                    : nil
            }
        }

        /// false: waiting for the subscription.
        mutating func apply(_ delivery: Delivery) throws -> Bool {
            guard let event = delivery.event else { return true }
            let version = delivery.version
            switch event {
            case .checkoutCompleted(let checkout):
                guard subscriptions[checkout.billingObject] == nil else { return true }
                subscriptions[checkout.billingObject] = SubscriptionLedger.open(checkout, version: version)
                notices.append(.welcome)
            case .invoice(let change):
                guard let subscription = subscriptions[change.subscription ?? ""] else { return false }
                let (next, invoice, said) = SubscriptionLedger.apply(
                    change, version: version, to: subscription, invoice: invoices[change.invoiceID])
                subscriptions[change.subscription!] = next
                invoices[change.invoiceID] = invoice
                notices += said
            case .subscription(let change):
                guard let subscription = subscriptions[change.subscriptionID] else { return false }
                let plan = change.priceID.flatMap(catalog.plan(priceID:))
                let previous = change.previousPriceID.flatMap(catalog.plan(priceID:))
                let upgrade =
                    plan.map { $0.amountCents > (previous ?? catalog[subscription.plan]).amountCents } ?? false
                let (next, said) = SubscriptionLedger.apply(
                    change, version: version, plan: plan?.id, previousPlan: previous?.id, upgrade: upgrade,
                    to: subscription)
                subscriptions[change.subscriptionID] = next
                notices += said
            }
            return true
        }

        /// Applies deliveries in the order given, once per event id (the inbox), the waiting ones again later.
        static func play(_ deliveries: [Delivery]) throws -> Ledger {
            var ledger = Ledger()
            var seen: Set<String> = []
            var queue = deliveries[...]
            var rounds = 0
            while let delivery = queue.popFirst() {
                rounds += 1
                guard rounds < 10_000 else { throw TestFailure("events keep waiting") }
                let id = delivery.version.eventID
                guard !seen.contains(id) else { continue }
                if try ledger.apply(delivery) { seen.insert(id) } else { queue.append(delivery) }
            }
            return ledger
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// SplitMix64: the same sample of orders on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The history shuffled, with some events delivered twice or three times.
    static func shuffled<T>(_ bodies: [T], using generator: inout SeededGenerator) -> [T] {
        var deliveries = bodies
        for body in bodies where Int.random(in: 0..<3, using: &generator) == 0 {
            deliveries += Array(repeating: body, count: Int.random(in: 1...2, using: &generator))
        }
        return deliveries.shuffled(using: &generator)
    }

    @Test(
        "every history, 2,000 shuffled and duplicated orders each, ends as in order", arguments: StripeHistories.names)
    func permutations(history name: String) throws {
        let events = StripeHistories.make(name, catalog: Self.catalog, email: "ada@example.com", at: 1_764_000_000)!
        let bodies = try events.map { try Ledger.Delivery(StripeIDs.body($0)) }
        let inOrder = try Ledger.play(bodies)
        var generator = SeededGenerator(state: name.utf8.reduce(UInt64(7)) { $0 &* 31 &+ UInt64($1) })
        for _ in 0..<2_000 {
            let ledger = try Ledger.play(Self.shuffled(bodies, using: &generator))
            #expect(ledger.subscriptions == inOrder.subscriptions)
            #expect(ledger.invoices == inOrder.invoices)
            #expect(ledger.notices.filter { $0 == .welcome }.count == 1)
            #expect(
                ledger.notices.filter { $0 == .receipt }.count == inOrder.invoices.values.filter(\.paid).count,
                "one receipt per paid invoice")
            #expect(ledger.notices.filter { $0 == .canceled }.count == inOrder.notices.filter { $0 == .canceled }.count)
        }
    }

    @Test("the histories in order: the states an agency owner expects")
    func inOrder() throws {
        func play(_ name: String) throws -> Ledger {
            try Ledger.play(
                StripeHistories.make(name, catalog: Self.catalog, email: "a@example.com", at: 1_764_000_000)!.map {
                    try Ledger.Delivery(StripeIDs.body($0))
                })
        }
        let pro = try play("pro-lifecycle")
        let proSubscription = try #require(pro.subscriptions.values.first)
        #expect(proSubscription.plan == .scale && proSubscription.status == .canceled)
        #expect(proSubscription.cancelAtPeriodEnd && proSubscription.canceledAt != nil)
        #expect(pro.invoices.count == 4 && pro.invoices.values.allSatisfy(\.paid))
        #expect(pro.notices.contains(.paymentFailed(attempt: 1)) && pro.notices.contains(.paymentFailed(attempt: 2)))
        #expect(pro.notices.contains(.planChanged(from: .pro, to: .scale, atOnce: true)))

        let scale = try play("scale-downgrade")
        let scaleSubscription = try #require(scale.subscriptions.values.first)
        #expect(scaleSubscription.plan == .pro, "the downgrade took effect with the renewal")
        #expect(scaleSubscription.pendingPlan == nil && scaleSubscription.status == .canceled)
        #expect(scale.notices.contains(.planChanged(from: .scale, to: .pro, atOnce: false)))
        #expect(scale.invoices.values.filter { !$0.paid }.count == 1)

        let sprint = try play("sprint-once")
        #expect(sprint.subscriptions.values.first?.status == .active && sprint.invoices.isEmpty)
        #expect(sprint.notices == [.welcome])

        let back = try play("upgrade-then-back")
        #expect(back.subscriptions.values.first?.plan == .pro && back.subscriptions.values.first?.pendingPlan == nil)
    }

    @Test(
        "a proration invoice is not a new period: usage is kept and the period stays the renewal's, in every order; the first period is Stripe's, not the checkout's arrival"
    )
    func periods() throws {
        let events = StripeHistories.make(
            "upgrade-prorated", catalog: Self.catalog, email: "p@example.com", at: 1_764_000_000)!
        let bodies = try events.map { try Ledger.Delivery(StripeIDs.body($0)) }
        // Up to the renewal (checkout, subscription created, first invoice, renewal): the period is the renewal's.
        let beforeUpgrade = try Ledger.play(Array(bodies.prefix(4)))
        var state = try #require(beforeUpgrade.subscriptions.values.first)
        let renewal = state.periodStart
        #expect(state.periodEnd == renewal + 30 * 86_400)
        state.deliverablesUsed = 3  // three deliveries this period
        // The upgrade and its prorated invoice, in either order: the period and the count stay.
        let upgrade = Array(bodies[4..<6])
        for order in [upgrade, upgrade.reversed()] {
            var ledger = beforeUpgrade
            ledger.subscriptions[ledger.subscriptions.keys.first!] = state
            for delivery in order { _ = try ledger.apply(delivery) }
            let after = try #require(ledger.subscriptions.values.first)
            #expect(after.periodStart == renewal && after.deliverablesUsed == 3, "\(after)")
            #expect(after.plan == .scale)
            #expect(ledger.invoices.count == 3 && ledger.invoices.values.allSatisfy(\.paid))
        }
        let prorated = try #require(
            upgrade.compactMap { delivery -> InvoiceChange? in
                if case .invoice(let change) = delivery.event { return change }
                return nil
            }.first)
        #expect(!prorated.coversPeriod)

        // The checkout applied before anything else: its start is provisional, with no end; Stripe's first
        // period replaces it whichever event says it first (the invoice, or the subscription's update).
        let checkoutFirst = try Ledger.play([bodies[0], bodies[2]])
        let first = try #require(checkoutFirst.subscriptions.values.first)
        #expect(first.periodEnd != nil, "the first invoice's period: \(first)")
        let opened = try #require(try Ledger.play([bodies[0]]).subscriptions.values.first)
        #expect(opened.periodEnd == nil)
        #expect(first.periodStart < opened.periodStart, "Stripe's start, not the checkout event's arrival")
    }

    @Test("each failed attempt of an unpaid invoice is told once, whatever order the attempts arrive in")
    func failedAttemptsInAnyOrder() throws {
        let events = StripeHistories.make(
            "pro-lifecycle", catalog: Self.catalog, email: "f@example.com", at: 1_764_000_000)!
        let bodies = try events.map { try Ledger.Delivery(StripeIDs.body($0)) }
        let failures = bodies.indices.filter {
            if case .invoice(let change) = bodies[$0].event { return !change.paid }
            return false
        }
        #expect(failures.count == 2)
        // Everything before the failures in order; then the second attempt before the first.
        var ledger = try Ledger.play(Array(bodies[..<failures[0]]))
        for index in failures.reversed() { _ = try ledger.apply(bodies[index]) }
        #expect(
            ledger.notices.filter { if case .paymentFailed = $0 { return true } else { return false } } == [
                .paymentFailed(attempt: 2), .paymentFailed(attempt: 1),
            ])
    }

    @Test("a downgrade waits for its period; a stale event changes nothing; canceled is final")
    func rules() throws {
        let v = { (t: Int64) in BillingVersion(created: t, eventID: "evt_\(t)") }
        let state = SubscriptionState(
            plan: .scale, status: .active, statusVersion: v(10), detailsVersion: v(10), periodStart: 0, periodEnd: 100)
        func change(_ status: String, price: String?, deleted: Bool = false) throws -> SubscriptionChange {
            var object: [String: Any] = ["id": "sub_1", "customer": "cus_1", "status": status]
            if let price {
                object["items"] = ["data": [["price": ["id": price], "current_period_end": 100]]]
            }
            guard
                case .subscription(let change) = try BillingEvent.parse(
                    type: deleted ? "customer.subscription.deleted" : "customer.subscription.updated",
                    object: object, previous: [:])
            else { throw TestFailure("not a subscription change") }
            return change
        }
        let (pending, said) = SubscriptionLedger.apply(
            try change("active", price: "price_pro_monthly"), version: v(20), plan: .pro, previousPlan: .scale,
            upgrade: false, to: state)
        #expect(pending.plan == .scale && pending.pendingPlan == .pro && pending.pendingFrom == 100)
        #expect(said == [.planChanged(from: .scale, to: .pro, atOnce: false)])
        let (stale, staleSaid) = SubscriptionLedger.apply(
            try change("past_due", price: nil), version: v(5), plan: nil, previousPlan: nil, upgrade: false, to: state)
        #expect(stale.status == .active && staleSaid.isEmpty, "an event older than the stored status changes nothing")
        let (canceled, _) = SubscriptionLedger.apply(
            try change("canceled", price: nil, deleted: true), version: v(5), plan: nil, previousPlan: nil,
            upgrade: false, to: state)
        #expect(canceled.status == .canceled, "a deletion cancels whenever it arrives")
        let (still, stillSaid) = SubscriptionLedger.apply(
            try change("active", price: nil), version: v(50), plan: nil, previousPlan: nil, upgrade: false,
            to: canceled)
        #expect(still.status == .canceled && stillSaid.isEmpty)
        #expect(BillingVersion("0000000000020:evt_20") == v(20) && v(20).description == "0000000000020:evt_20")
        #expect(Money.format(450_000, "usd") == "$4,500.00" && Money.format(5, "eur") == "EUR 0.05")
    }

    @Test("usage holds: past due and canceled hold all work; the allowance holds new work only; unlimited never")
    func usageHold() {
        func standing(_ status: SubscriptionStatus, included: Int?, used: Int, inProgress: Int) -> UsageHold.Standing {
            UsageHold.Standing(
                subscriptionID: 7, planName: "Sprint", status: status, included: included, used: used,
                inProgress: inProgress)
        }
        #expect(
            UsageHold.reason(standing(.active, included: 1, used: 0, inProgress: 0), producesDeliverable: true) == nil)
        #expect(
            UsageHold.reason(standing(.active, included: 1, used: 0, inProgress: 1), producesDeliverable: true)
                == "subscription 7 (Sprint) includes 1 deliverable a period: 0 delivered and 1 in progress")
        #expect(
            UsageHold.reason(standing(.active, included: 4, used: 4, inProgress: 0), producesDeliverable: false) == nil,
            "a revision makes no new deliverable")
        #expect(
            UsageHold.reason(standing(.trialing, included: nil, used: 90, inProgress: 9), producesDeliverable: true)
                == nil)
        #expect(
            UsageHold.reason(standing(.pastDue, included: nil, used: 0, inProgress: 0), producesDeliverable: false)
                == "subscription 7 (Sprint) is past due: a payment failed and the client was asked to update it")
        #expect(
            UsageHold.reason(standing(.canceled, included: 4, used: 0, inProgress: 0), producesDeliverable: true)
                == "subscription 7 (Sprint) is canceled")
        #expect(
            SubscriptionStatus(stripe: "unpaid") == .pastDue
                && SubscriptionStatus(stripe: "incomplete_expired") == .canceled)
    }
}

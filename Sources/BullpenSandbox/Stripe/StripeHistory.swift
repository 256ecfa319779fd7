import BullpenDomain
import Foundation

/// One Stripe customer's account as the sandbox keeps it, and the events Stripe sends as it changes: a
/// checkout, invoices paid and failed, plan changes, a cancellation. The objects carry the fields Stripe's
/// API (2025-03-31) gives them and Bullpen reads, with Stripe's id prefixes. Each method returns the events
/// in the order Stripe emits them; their `created` times advance with the account's clock.
public struct StripeAccount: Sendable {
    public let customer: String
    public let email: String
    public let name: String
    public let plan: PlanDefinition
    public private(set) var subscription: String?
    public private(set) var priceID: String
    public private(set) var clock: Int64
    public private(set) var periodStart: Int64
    public private(set) var periodEnd: Int64
    private var invoiceNumber = 0

    public static let apiVersion = "2025-03-31.basil"

    public init(email: String, name: String, plan: PlanDefinition, at start: Int64) {
        customer = "cus_" + StripeIDs.random(14)
        self.email = email
        self.name = name
        self.plan = plan
        priceID = plan.stripePriceId
        clock = start
        periodStart = start
        periodEnd = start + 30 * 86_400
    }

    /// A completed checkout session of `plan`: in payment mode the session alone; in subscription mode the
    /// session and the first invoice, paid (and `customer.subscription.created`, which Bullpen ignores).
    public mutating func checkout(sessionID: String, brief: String? = nil) -> [[String: Any]] {
        let subscriptionMode = plan.mode == .subscription
        if subscriptionMode { subscription = "sub_" + StripeIDs.random(24) }
        var metadata: [String: Any] = ["plan": plan.id.rawValue]
        if let brief { metadata["brief"] = brief }
        let session: [String: Any] = [
            "id": sessionID, "object": "checkout.session", "mode": plan.mode.rawValue, "customer": customer,
            "customer_email": NSNull(), "customer_details": ["email": email, "name": name],
            "amount_total": plan.amountCents, "currency": "usd", "metadata": metadata, "payment_status": "paid",
            "status": "complete", "client_reference_id": NSNull(),
            "payment_intent": subscriptionMode ? NSNull() : "pi_" + StripeIDs.random(24) as Any,
            "subscription": subscription ?? NSNull() as Any,
        ]
        // As with Stripe, the session completes a few seconds after the subscription's period began.
        clock += 5
        var events = [event("checkout.session.completed", session)]
        if subscriptionMode {
            events.append(event("customer.subscription.created", subscriptionObject(status: "active")))
            events.append(invoice(paid: true, attempt: 1))
        }
        return events
    }

    /// The next period's invoice, paid.
    public mutating func renew() -> [[String: Any]] {
        advancePeriod()
        return [invoice(paid: true, attempt: 1)]
    }

    /// The next period's invoice fails `attempts` times (the subscription goes past due), then, if `recovers`,
    /// is paid (active again).
    public mutating func failPayment(attempts: Int, recovers: Bool) -> [[String: Any]] {
        advancePeriod()
        invoiceNumber += 1
        let id = "in_" + StripeIDs.random(24)
        var events: [[String: Any]] = []
        for attempt in 1...attempts {
            tick()
            events.append(invoice(id: id, paid: false, attempt: attempt))
            if attempt == 1 {
                events.append(
                    event(
                        "customer.subscription.updated", subscriptionObject(status: "past_due"),
                        previous: ["status": "active"]))
            }
        }
        if recovers {
            tick()
            events.append(invoice(id: id, paid: true, attempt: attempts + 1))
            events.append(
                event(
                    "customer.subscription.updated", subscriptionObject(status: "active"),
                    previous: ["status": "past_due"]))
        }
        return events
    }

    /// The subscription moves to another price. `prorateNow`: Stripe invoices the difference at once (an upgrade
    /// with `proration_behavior: always_invoice`): an invoice for the rest of the current period, of proration
    /// lines only (`billing_reason: subscription_update`), paid.
    public mutating func changePrice(to price: String, prorateNow: Bool = false) -> [[String: Any]] {
        let previous = priceID
        priceID = price
        tick()
        var events = [
            event(
                "customer.subscription.updated", subscriptionObject(status: "active"),
                previous: ["items": ["object": "list", "data": [item(price: previous)]]])
        ]
        if prorateNow {
            invoiceNumber += 1
            let prorated = plan.amountCents / 3
            let line: [String: Any] = [
                "object": "line_item", "period": ["start": clock, "end": periodEnd],
                "parent": [
                    "type": "subscription_item_details", "subscription_item_details": ["proration": true],
                ],
            ]
            tick()
            events.append(
                event(
                    "invoice.paid",
                    [
                        "id": "in_" + StripeIDs.random(24), "object": "invoice", "customer": customer,
                        "parent": [
                            "type": "subscription_details",
                            "subscription_details": ["subscription": subscription ?? ""],
                        ],
                        "billing_reason": "subscription_update", "amount_due": prorated, "amount_paid": prorated,
                        "currency": "usd", "attempt_count": 1, "status": "paid",
                        "hosted_invoice_url":
                            "https://invoice.stripe.com/i/acct_sandbox/\(customer)_\(invoiceNumber)",
                        "period_start": clock, "period_end": clock,
                        "lines": ["object": "list", "data": [line]],
                    ]))
        }
        return events
    }

    /// Cancels at the period's end (an update), then the deletion when it ends.
    public mutating func cancel() -> [[String: Any]] {
        tick()
        let scheduled = event(
            "customer.subscription.updated", subscriptionObject(status: "active", cancelAtPeriodEnd: true),
            previous: ["cancel_at_period_end": false])
        clock = max(clock + 1, periodEnd)
        var ended = subscriptionObject(status: "canceled", cancelAtPeriodEnd: true)
        ended["canceled_at"] = clock
        ended["ended_at"] = clock
        return [scheduled, event("customer.subscription.deleted", ended)]
    }

    // MARK: objects

    private mutating func tick() { clock += 60 }

    private mutating func advancePeriod() {
        periodStart = periodEnd
        periodEnd = periodStart + 30 * 86_400
        clock = max(clock + 60, periodStart)
    }

    private mutating func invoice(id: String? = nil, paid: Bool, attempt: Int) -> [String: Any] {
        if id == nil { invoiceNumber += 1 }
        let amount = plan.amountCents
        let object: [String: Any] = [
            "id": id ?? "in_" + StripeIDs.random(24), "object": "invoice", "customer": customer,
            "parent": [
                "type": "subscription_details", "subscription_details": ["subscription": subscription ?? ""],
            ],
            "amount_due": amount, "amount_paid": paid ? amount : 0, "currency": "usd", "attempt_count": attempt,
            "status": paid ? "paid" : "open",
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_sandbox/\(customer)_\(invoiceNumber)",
            "billing_reason": invoiceNumber == 1 ? "subscription_create" : "subscription_cycle",
            "period_start": periodStart, "period_end": periodEnd,
            "lines": [
                "object": "list",
                "data": [["object": "line_item", "period": ["start": periodStart, "end": periodEnd]]],
            ],
        ]
        return event(paid ? "invoice.paid" : "invoice.payment_failed", object)
    }

    private func item(price: String) -> [String: Any] {
        [
            "object": "subscription_item", "price": ["id": price, "object": "price"],
            "current_period_start": periodStart, "current_period_end": periodEnd,
        ]
    }

    private func subscriptionObject(status: String, cancelAtPeriodEnd: Bool = false) -> [String: Any] {
        [
            "id": subscription ?? "", "object": "subscription", "customer": customer, "status": status,
            "cancel_at_period_end": cancelAtPeriodEnd, "canceled_at": NSNull(), "ended_at": NSNull(),
            "items": ["object": "list", "data": [item(price: priceID)]], "metadata": [:] as [String: Any],
        ]
    }

    private func event(_ type: String, _ object: [String: Any], previous: [String: Any]? = nil) -> [String: Any] {
        var data: [String: Any] = ["object": object]
        if let previous { data["previous_attributes"] = previous }
        return [
            "id": "evt_" + StripeIDs.random(24), "object": "event", "api_version": Self.apiVersion, "created": clock,
            "livemode": false, "pending_webhooks": 1, "type": type, "data": data,
            "request": ["id": NSNull(), "idempotency_key": NSNull()],
        ]
    }
}

/// Stripe-like ids: a prefix and random letters and digits.
public enum StripeIDs {
    public static func random(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    /// An event as the bytes Stripe sends.
    public static func body(_ event: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data())
    }
}

/// Realistic histories of one customer, each in the order Stripe emits them: what the sandbox plays and the
/// billing tests shuffle.
public enum StripeHistories {
    public static let names = [
        "pro-lifecycle", "scale-downgrade", "sprint-once", "upgrade-then-back", "upgrade-prorated",
    ]

    public static func make(_ name: String, catalog: PlanCatalog, email: String, at start: Int64) -> [[String: Any]]? {
        func account(_ plan: Plan) -> StripeAccount {
            StripeAccount(email: email, name: "Ada Client", plan: catalog[plan], at: start)
        }
        let session = "cs_test_" + StripeIDs.random(24)
        switch name {
        case "pro-lifecycle":
            // Buys Pro, renews, fails twice then pays, upgrades to Scale, renews, cancels.
            var pro = account(.pro)
            return pro.checkout(sessionID: session, brief: "Launch copy for our new product")
                + pro.renew() + pro.failPayment(attempts: 2, recovers: true)
                + pro.changePrice(to: catalog[.scale].stripePriceId) + pro.renew() + pro.cancel()
        case "scale-downgrade":
            // Buys Scale, downgrades to Pro (from the next period), renews into it, fails for good, is canceled.
            var scale = account(.scale)
            return scale.checkout(sessionID: session) + scale.changePrice(to: catalog[.pro].stripePriceId)
                + scale.renew() + scale.failPayment(attempts: 1, recovers: false) + scale.cancel()
        case "sprint-once":
            var sprint = account(.sprint)
            return sprint.checkout(sessionID: session, brief: "A one-off research sprint")
        case "upgrade-then-back":
            // Pro to Scale and back to Pro in the same period, then the renewal.
            var pro = account(.pro)
            return pro.checkout(sessionID: session) + pro.changePrice(to: catalog[.scale].stripePriceId)
                + pro.changePrice(to: catalog[.pro].stripePriceId) + pro.renew()
        case "upgrade-prorated":
            // Pro, renewed, then upgraded to Scale mid-period with the difference invoiced at once (a proration,
            // not a new period), then the renewal.
            var pro = account(.pro)
            return pro.checkout(sessionID: session) + pro.renew()
                + pro.changePrice(to: catalog[.scale].stripePriceId, prorateNow: true) + pro.renew()
        default: return nil
        }
    }
}

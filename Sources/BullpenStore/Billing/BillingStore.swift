import BullpenDomain
import Foundation
import PostgreSQL

/// Stripe's events applied to clients, subscriptions and invoices, by ``SubscriptionLedger``'s rules. Each
/// event runs under a transaction-scoped advisory lock on its Stripe customer, so two events of one customer
/// are never applied at once (the second waits for the first to commit and then reads its effect).
public enum BillingStore {
    /// What applying an event did.
    public enum Outcome: Sendable, Equatable {
        /// Applied; `notices` are what the people concerned are told.
        case applied(Applied)
        /// The object's parent is not known yet (an invoice before its checkout): try again later.
        case waiting(reason: String)
    }

    public struct Applied: Sendable, Equatable {
        public var clientID: Int64
        public var email: String
        public var subscriptionID: Int64
        public var plan: PlanDefinition
        public var notices: [BillingNotice]
        /// The project a checkout opened.
        public var projectID: Int64?
        public var invoice: InvoiceFacts?
    }

    public struct InvoiceFacts: Sendable, Equatable {
        public var stripeID: String
        public var amountCents: Int64
        public var currency: String
        public var url: String?
    }

    /// An event Bullpen can never apply as it is (a price no plan has, an invoice of no subscription): parked
    /// with the reason, for a replay once the plans file knows it.
    public struct Unappliable: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The advisory lock key of a Stripe customer's events (the runtime takes it for a whole batch first).
    public static func lockKey(customer: String) -> String { "stripe:" + customer }

    public static func apply(
        _ event: BillingEvent, version: BillingVersion, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Outcome {
        try tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey(customer: event.customer)])
        let catalog = try PlanStore.catalog(in: tx)
        switch event {
        case .checkoutCompleted(let checkout):
            return try checkoutCompleted(
                checkout, version: version, catalog: catalog, messageID: messageID, now: now, in: tx)
        case .invoice(let change):
            return try invoice(change, version: version, catalog: catalog, messageID: messageID, in: tx)
        case .subscription(let change):
            return try subscription(change, version: version, catalog: catalog, messageID: messageID, in: tx)
        }
    }

    // MARK: checkout

    private static func checkoutCompleted(
        _ checkout: CheckoutCompleted, version: BillingVersion, catalog: PlanCatalog, messageID: String, now: Date,
        in tx: PGConnection
    ) throws -> Outcome {
        let plan = catalog[checkout.plan]
        if let existing = try tx.query(
            "SELECT s.id, s.client_id, c.email FROM subscriptions s JOIN clients c ON c.id = s.client_id WHERE s.stripe_checkout_session_id = $1",
            [checkout.sessionID]
        ).first {
            // The same session in another event: already applied.
            return .applied(
                Applied(
                    clientID: try existing.decode("client_id"), email: try existing.decode("email"),
                    subscriptionID: try existing.decode("id"), plan: plan, notices: [], projectID: nil, invoice: nil))
        }
        let client = try findOrCreateClient(checkout, plan: plan, messageID: messageID, in: tx)
        let state = SubscriptionLedger.open(checkout, version: version)
        let subscriptionID: Int64 = try tx.query(
            """
            INSERT INTO subscriptions (client_id, stripe_subscription_id, stripe_payment_intent_id,
                                       stripe_checkout_session_id, stripe_customer_id, plan, status,
                                       price_amount_cents, billing_interval, deliverables_included, period_start,
                                       response_time_hours, revision_rounds, status_version, details_version,
                                       stripe_event_created_at, metadata)
            VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, to_timestamp($10), $11, $12, $13, $13,
                    to_timestamp($10), jsonb_build_object('amountTotal', $14::bigint, 'currency', $15::text))
            RETURNING id
            """,
            [
                client, checkout.subscription, checkout.mode == .payment ? checkout.paymentIntent : nil,
                checkout.sessionID, checkout.customer, plan.id.rawValue, plan.amountCents, plan.interval,
                plan.terms.deliverablesIncluded, state.periodStart, plan.terms.responseHours,
                plan.terms.maxRevisions, state.statusVersion.description, checkout.amountTotal, checkout.currency,
            ]
        ).first!.decode("id")
        // The agency's first response is timed from the purchase: the client's first project opens in intake
        // (the brief the checkout carried, or onboarding's) with its first-response SLA.
        let project = NewProject(
            clientId: client, name: checkout.projectName ?? "\(plan.name) onboarding", type: "onboarding",
            brief: checkout.brief ?? "Onboarding: agree the first brief with the client.",
            subscriptionId: subscriptionID)
        let projectID = try ProjectStore.create(project, messageID: messageID, now: now, in: tx)
        try EventLog.record(
            "billing.checkout_completed",
            "Client \(client) bought \(plan.name) (\(checkout.sessionID)); subscription \(subscriptionID)",
            data: #"{"stripeEventId": "\#(version.eventID)", "subscriptionId": \#(subscriptionID)}"#,
            about: .init(clientID: client, projectID: projectID), messageID: messageID, in: tx)
        return .applied(
            Applied(
                clientID: client, email: checkout.email, subscriptionID: subscriptionID, plan: plan,
                notices: [.welcome],
                projectID: projectID, invoice: nil))
    }

    /// By Stripe customer id, then by email (a returning client: Stripe Checkout makes a new customer for each
    /// session given only an email; the first customer id is kept); else a new client.
    private static func findOrCreateClient(
        _ checkout: CheckoutCompleted, plan: PlanDefinition, messageID: String, in tx: PGConnection
    ) throws -> Int64 {
        if let row = try tx.query(
            """
            SELECT id FROM clients WHERE stripe_customer_id = $1
            UNION ALL
            SELECT id FROM clients WHERE lower(email) = lower($2)
            LIMIT 1
            """, [checkout.customer, checkout.email]
        ).first {
            let id: Int64 = try row.decode("id")
            try tx.query(
                """
                UPDATE clients SET stripe_customer_id = coalesce(stripe_customer_id, $2), plan = $3, status = 'active',
                                   onboarded_at = coalesce(onboarded_at, now())
                 WHERE id = $1
                """, [id, checkout.customer, plan.id.rawValue])
            return id
        }
        let name = checkout.name ?? String(checkout.email.prefix { $0 != "@" })
        let id: Int64 = try tx.query(
            """
            INSERT INTO clients (name, email, plan, channel, stripe_customer_id, onboarded_at)
            VALUES ($1, $2, $3, 'email', $4, now()) RETURNING id
            """, [String(name.prefix(200)), checkout.email, plan.id.rawValue, checkout.customer]
        ).first!.decode("id")
        try EventLog.record(
            "client.created", "Client \(id) (\(name)) created by a Stripe checkout", about: .init(clientID: id),
            messageID: messageID, in: tx)
        return id
    }

    // MARK: invoices

    private static func invoice(
        _ change: InvoiceChange, version: BillingVersion, catalog: PlanCatalog, messageID: String, in tx: PGConnection
    ) throws -> Outcome {
        guard let subscriptionStripeID = change.subscription else {
            throw Unappliable(
                description: "invoice \(change.invoiceID) belongs to no subscription; Bullpen bills plans only")
        }
        guard let loaded = try loadSubscription(stripeID: subscriptionStripeID, in: tx) else {
            return .waiting(
                reason:
                    "subscription \(subscriptionStripeID) of invoice \(change.invoiceID) is not known yet (its checkout has not been applied)"
            )
        }
        let stored = try tx.query(
            "SELECT * FROM invoices WHERE stripe_invoice_id = $1 FOR UPDATE", [change.invoiceID]
        ).first.flatMap(invoiceState)
        let (next, invoice, notices) = SubscriptionLedger.apply(
            change, version: version, to: loaded.state, invoice: stored)
        try write(next, over: loaded, catalog: catalog, created: version.created, in: tx)
        try tx.query(
            """
            INSERT INTO invoices (client_id, subscription_id, stripe_invoice_id, amount_cents, amount_due_cents, currency,
                                  status, paid_at, invoice_url, version, attempt_count, period_start, period_end)
            VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), $9, $10, $11, to_timestamp($12), to_timestamp($13))
            ON CONFLICT (stripe_invoice_id) DO UPDATE SET
                amount_cents = EXCLUDED.amount_cents, amount_due_cents = EXCLUDED.amount_due_cents,
                status = EXCLUDED.status, paid_at = EXCLUDED.paid_at, invoice_url = EXCLUDED.invoice_url,
                version = EXCLUDED.version, attempt_count = EXCLUDED.attempt_count,
                period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end
            """,
            [
                loaded.clientID, loaded.id, change.invoiceID, invoice.amountPaid, invoice.amountDue, change.currency,
                invoice.paid ? "paid" : "open", invoice.paidAt.map(Double.init), invoice.hostedInvoiceURL,
                invoice.version.description, invoice.attemptCount, invoice.periodStart, invoice.periodEnd,
            ])
        if !notices.isEmpty {
            try EventLog.record(
                change.paid ? "billing.invoice_paid" : "billing.payment_failed",
                change.paid
                    ? "Invoice \(change.invoiceID) paid: \(Money.format(change.amountPaid, change.currency))"
                    : "Payment of invoice \(change.invoiceID) failed (attempt \(change.attemptCount))",
                data: #"{"stripeEventId": "\#(version.eventID)", "subscriptionId": \#(loaded.id)}"#,
                about: .init(clientID: loaded.clientID), messageID: messageID, in: tx)
        }
        return .applied(
            Applied(
                clientID: loaded.clientID, email: loaded.email, subscriptionID: loaded.id, plan: catalog[next.plan],
                notices: notices, projectID: nil,
                invoice: InvoiceFacts(
                    stripeID: change.invoiceID, amountCents: change.paid ? change.amountPaid : change.amountDue,
                    currency: change.currency, url: invoice.hostedInvoiceURL)))
    }

    // MARK: subscriptions

    private static func subscription(
        _ change: SubscriptionChange, version: BillingVersion, catalog: PlanCatalog, messageID: String,
        in tx: PGConnection
    ) throws -> Outcome {
        guard let loaded = try loadSubscription(stripeID: change.subscriptionID, in: tx) else {
            return .waiting(
                reason: "subscription \(change.subscriptionID) is not known yet (its checkout has not been applied)")
        }
        let newPlan = try change.priceID.map { price in
            guard let plan = catalog.plan(priceID: price) else {
                throw Unappliable(
                    description: "price \(price) of \(change.subscriptionID) is not a plan of Config/plans.json")
            }
            return plan
        }
        let previous = change.previousPriceID.flatMap(catalog.plan(priceID:))
        let upgrade = newPlan.map { $0.amountCents > (previous ?? catalog[loaded.state.plan]).amountCents } ?? false
        let (next, notices) = SubscriptionLedger.apply(
            change, version: version, plan: newPlan?.id, previousPlan: previous?.id, upgrade: upgrade, to: loaded.state)
        try write(next, over: loaded, catalog: catalog, created: version.created, in: tx)
        for notice in notices {
            switch notice {
            case .planChanged(let from, let to, let atOnce):
                try EventLog.record(
                    "billing.plan_changed",
                    "Subscription \(loaded.id) moves from \(from.rawValue) to \(to.rawValue) "
                        + (atOnce
                            ? "at once (an upgrade is prorated by Stripe and paid now)"
                            : "with the next period (a downgrade: the current period is paid on \(from.rawValue))"),
                    data: #"{"stripeEventId": "\#(version.eventID)", "subscriptionId": \#(loaded.id)}"#,
                    about: .init(clientID: loaded.clientID), messageID: messageID, in: tx)
            case .canceled:
                try tx.query(
                    """
                    UPDATE clients SET status = 'churned' WHERE id = $1 AND NOT EXISTS (
                        SELECT 1 FROM subscriptions WHERE client_id = $1 AND status <> 'canceled')
                    """, [loaded.clientID])
                try UsageStore.holdQueued(
                    clientID: loaded.clientID, reason: "subscription \(loaded.id) was canceled",
                    messageID: messageID, in: tx)
                try EventLog.record(
                    "billing.subscription_canceled",
                    "Subscription \(loaded.id) (\(change.subscriptionID)) canceled; the client's dispatches are held",
                    data: #"{"stripeEventId": "\#(version.eventID)", "subscriptionId": \#(loaded.id)}"#,
                    about: .init(clientID: loaded.clientID), messageID: messageID, in: tx)
            default: break
            }
        }
        return .applied(
            Applied(
                clientID: loaded.clientID, email: loaded.email, subscriptionID: loaded.id, plan: catalog[next.plan],
                notices: notices, projectID: nil, invoice: nil))
    }

    // MARK: rows

    struct Loaded {
        var id: Int64
        var clientID: Int64
        var email: String
        var state: SubscriptionState
    }

    private static func loadSubscription(stripeID: String, in tx: PGConnection) throws -> Loaded? {
        guard
            let row = try tx.query(
                """
                SELECT s.*, extract(epoch FROM s.period_start)::bigint AS start_s,
                       extract(epoch FROM s.period_end)::bigint AS end_s,
                       extract(epoch FROM s.pending_from)::bigint AS pending_s,
                       extract(epoch FROM s.canceled_at)::bigint AS canceled_s, c.email
                  FROM subscriptions s JOIN clients c ON c.id = s.client_id
                 WHERE s.stripe_subscription_id = $1 FOR UPDATE OF s
                """, [stripeID]
            ).first
        else { return nil }
        let state = SubscriptionState(
            plan: Plan(rawValue: try row.decode("plan")) ?? .pro,
            status: SubscriptionStatus(rawValue: try row.decode("status")) ?? .active,
            statusVersion: try version(row, "status_version"), detailsVersion: try version(row, "details_version"),
            pendingPlan: try row.decode("pending_plan", as: String?.self).flatMap(Plan.init(rawValue:)),
            pendingFrom: try row.decode("pending_s", as: Int64?.self), periodStart: try row.decode("start_s"),
            periodEnd: try row.decode("end_s", as: Int64?.self),
            cancelAtPeriodEnd: try row.decode("cancel_at_period_end"),
            canceledAt: try row.decode("canceled_s", as: Int64?.self),
            deliverablesUsed: try row.decode("deliverables_used"))
        return Loaded(
            id: try row.decode("id"), clientID: try row.decode("client_id"), email: try row.decode("email"),
            state: state)
    }

    private static func version(_ row: PGRow, _ column: String) throws -> BillingVersion {
        try row.decode(column, as: String?.self).flatMap(BillingVersion.init) ?? BillingVersion(created: 0, eventID: "")
    }

    private static func invoiceState(_ row: PGRow) throws -> InvoiceState? {
        guard let version = try row.decode("version", as: String?.self).flatMap(BillingVersion.init) else { return nil }
        let paidAt = try row.decode("paid_at", as: Date?.self)
        let start = try row.decode("period_start", as: Date?.self)
        let end = try row.decode("period_end", as: Date?.self)
        return InvoiceState(
            paid: try row.decode("status", as: String.self) == "paid", version: version,
            amountDue: try row.decode("amount_due_cents"), amountPaid: try row.decode("amount_cents"),
            attemptCount: try row.decode("attempt_count"), paidAt: paidAt.map { Int64($0.timeIntervalSince1970) },
            hostedInvoiceURL: try row.decode("invoice_url", as: String?.self),
            periodStart: Int64(start?.timeIntervalSince1970 ?? 0), periodEnd: Int64(end?.timeIntervalSince1970 ?? 0))
    }

    /// The subscription's row from the rules' state; its terms follow the plan in force.
    private static func write(
        _ state: SubscriptionState, over loaded: Loaded, catalog: PlanCatalog, created: Int64, in tx: PGConnection
    ) throws {
        guard state != loaded.state else { return }
        let plan = catalog[state.plan]
        try tx.query(
            """
            UPDATE subscriptions SET plan = $2, status = $3, status_version = $4, details_version = $5,
                   pending_plan = $6, pending_from = to_timestamp($7), period_start = to_timestamp($8),
                   period_end = to_timestamp($9), cancel_at_period_end = $10, canceled_at = to_timestamp($11),
                   deliverables_used = $12, price_amount_cents = $13, billing_interval = $14,
                   deliverables_included = $15, response_time_hours = $16, revision_rounds = $17,
                   stripe_event_created_at = greatest(stripe_event_created_at, to_timestamp($18))
             WHERE id = $1
            """,
            [
                loaded.id, state.plan.rawValue, state.status.rawValue, state.statusVersion.description,
                state.detailsVersion.description, state.pendingPlan?.rawValue, state.pendingFrom.map(Double.init),
                state.periodStart, state.periodEnd.map(Double.init), state.cancelAtPeriodEnd,
                state.canceledAt.map(Double.init), state.deliverablesUsed, plan.amountCents, plan.interval,
                plan.terms.deliverablesIncluded, plan.terms.responseHours, plan.terms.maxRevisions, created,
            ])
        if state.plan != loaded.state.plan {
            try tx.query("UPDATE clients SET plan = $2 WHERE id = $1", [loaded.clientID, state.plan.rawValue])
        }
    }
}

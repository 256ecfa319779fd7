import Foundation

/// Where an event sits in its object's history: Stripe's `created`, then the event id, so that two events of the
/// same second still have one order, the same whichever arrives first. Stored as text that sorts the same way.
public struct BillingVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var created: Int64
    public var eventID: String

    public init(created: Int64, eventID: String) {
        self.created = created
        self.eventID = eventID
    }

    /// `0001700000000:evt_...`: zero-padded seconds, so text order is version order.
    public var description: String {
        let seconds = String(created)
        return String(repeating: "0", count: max(0, 13 - seconds.count)) + seconds + ":" + eventID
    }

    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let created = Int64(text[..<colon]) else { return nil }
        self.init(created: created, eventID: String(text[text.index(after: colon)...]))
    }

    public static func < (lhs: BillingVersion, rhs: BillingVersion) -> Bool {
        (lhs.created, lhs.eventID) < (rhs.created, rhs.eventID)
    }
}

/// A Stripe event, read into what the billing worker applies. Only the fields Bullpen uses are read; a
/// missing one is named.
public enum BillingEvent: Sendable, Equatable {
    case checkoutCompleted(CheckoutCompleted)
    case invoice(InvoiceChange)
    case subscription(SubscriptionChange)

    /// The Stripe customer whose events are applied one at a time.
    public var customer: String {
        switch self {
        case .checkoutCompleted(let checkout): return checkout.customer
        case .invoice(let invoice): return invoice.customer
        case .subscription(let change): return change.customer
        }
    }

    /// A Stripe event's body: its `data.object`, and `data.previous_attributes` when it has them.
    public static func parse(type: String, body: String) throws(ValidationError) -> BillingEvent {
        let event = try JSONBody.object(Array(body.utf8))
        guard let data = event["data"] as? [String: Any], let object = data["object"] as? [String: Any] else {
            throw ValidationError(field: "data.object", message: "must be an object")
        }
        return try parse(type: type, object: object, previous: data["previous_attributes"] as? [String: Any] ?? [:])
    }

    public static func parse(
        type: String, object: [String: Any], previous: [String: Any]
    ) throws(ValidationError)
        -> BillingEvent
    {
        switch type {
        case "checkout.session.completed": return .checkoutCompleted(try CheckoutCompleted(object))
        case "invoice.paid", "invoice.payment_failed":
            return .invoice(try InvoiceChange(object, paid: type == "invoice.paid"))
        case "customer.subscription.updated", "customer.subscription.deleted":
            return .subscription(
                try SubscriptionChange(
                    object, previous: previous, deleted: type == "customer.subscription.deleted"))
        default: throw ValidationError(field: "type", message: "\(type) is not a type Bullpen applies")
        }
    }
}

/// `checkout.session.completed`: a client paid for a plan.
public struct CheckoutCompleted: Sendable, Equatable {
    public var sessionID: String
    public var mode: BillingMode
    public var customer: String
    public var email: String
    public var name: String?
    /// The plan Bullpen put in the session's metadata; the catalog's price is the amount.
    public var plan: Plan
    public var amountTotal: Int64
    public var currency: String
    /// Payment mode: the one-time payment.
    public var paymentIntent: String?
    /// Subscription mode: the subscription it started.
    public var subscription: String?
    /// A brief in the metadata opens a project in intake.
    public var brief: String?
    public var projectName: String?

    init(_ object: [String: Any]) throws(ValidationError) {
        sessionID = try StripeFields.id(object, "id", prefix: "cs_")
        guard let mode = BillingMode(rawValue: try JSONBody.requiredString(object, "mode")) else {
            throw ValidationError(field: "data.object.mode", message: "must be payment or subscription")
        }
        self.mode = mode
        customer = try StripeFields.id(object, "customer", prefix: "cus_")
        let details = object["customer_details"] as? [String: Any] ?? [:]
        guard let email = (details["email"] as? String) ?? (object["customer_email"] as? String), email.contains("@")
        else { throw ValidationError(field: "data.object.customer_details.email", message: "is required") }
        self.email = email
        name = details["name"] as? String
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        guard let plan = (metadata["plan"] as? String).flatMap(Plan.init(rawValue:)) else {
            throw ValidationError(field: "data.object.metadata.plan", message: "must be one of: \(Plan.choices)")
        }
        self.plan = plan
        amountTotal = (object["amount_total"] as? NSNumber)?.int64Value ?? 0
        currency = (object["currency"] as? String) ?? "usd"
        paymentIntent = object["payment_intent"] as? String
        subscription = object["subscription"] as? String
        switch mode {
        case .payment where paymentIntent == nil:
            throw ValidationError(field: "data.object.payment_intent", message: "is required in payment mode")
        case .subscription where subscription == nil:
            throw ValidationError(field: "data.object.subscription", message: "is required in subscription mode")
        default: break
        }
        brief = (metadata["brief"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        projectName = metadata["project_name"] as? String
    }

    /// The Stripe object the subscription row is found by: the subscription, or the one-time payment.
    public var billingObject: String { subscription ?? paymentIntent ?? sessionID }
}

/// `invoice.paid` or `invoice.payment_failed`.
public struct InvoiceChange: Sendable, Equatable {
    public var invoiceID: String
    public var customer: String
    public var subscription: String?
    public var paid: Bool
    public var amountDue: Int64
    public var amountPaid: Int64
    public var currency: String
    public var attemptCount: Int
    public var hostedInvoiceURL: String?
    /// The subscription period the invoice pays for: its first line that is not a proration (else its first
    /// line's, else the invoice's own).
    public var periodStart: Int64
    public var periodEnd: Int64
    /// Whether the invoice pays for a billing period of the subscription (a line that is not a proration, and
    /// not an update's invoice): only such an invoice moves the subscription's period. An upgrade's immediate
    /// prorated invoice pays for the rest of the current period and moves nothing.
    public var coversPeriod: Bool

    init(_ object: [String: Any], paid: Bool) throws(ValidationError) {
        invoiceID = try StripeFields.id(object, "id", prefix: "in_")
        customer = try StripeFields.id(object, "customer", prefix: "cus_")
        let parent = (object["parent"] as? [String: Any])?["subscription_details"] as? [String: Any]
        subscription = (object["subscription"] as? String) ?? (parent?["subscription"] as? String)
        self.paid = paid
        amountDue = (object["amount_due"] as? NSNumber)?.int64Value ?? 0
        amountPaid = (object["amount_paid"] as? NSNumber)?.int64Value ?? 0
        currency = (object["currency"] as? String) ?? "usd"
        attemptCount = (object["attempt_count"] as? NSNumber)?.intValue ?? 0
        hostedInvoiceURL = object["hosted_invoice_url"] as? String
        let lines = (object["lines"] as? [String: Any])?["data"] as? [[String: Any]] ?? []
        let periodLine = lines.first { !Self.isProration($0) }
        let line = periodLine ?? lines.first
        let period = line?["period"] as? [String: Any]
        coversPeriod =
            (object["billing_reason"] as? String) != "subscription_update" && (periodLine != nil || lines.isEmpty)
        guard
            let start = (period?["start"] as? NSNumber)?.int64Value
                ?? (object["period_start"] as? NSNumber)?.int64Value,
            let end = (period?["end"] as? NSNumber)?.int64Value ?? (object["period_end"] as? NSNumber)?.int64Value,
            end >= start
        else { throw ValidationError(field: "data.object.period_start", message: "and period_end are required") }
        periodStart = start
        periodEnd = end
    }

    /// A proration line: `proration: true` (older API versions), or its parent's
    /// `subscription_item_details.proration` (2025 and later).
    static func isProration(_ line: [String: Any]) -> Bool {
        if line["proration"] as? Bool == true { return true }
        let parent = line["parent"] as? [String: Any]
        return ((parent?["subscription_item_details"] as? [String: Any])?["proration"] as? Bool) == true
            || ((parent?["invoice_item_details"] as? [String: Any])?["proration"] as? Bool) == true
    }
}

/// `customer.subscription.updated` or `.deleted`.
public struct SubscriptionChange: Sendable, Equatable {
    public var subscriptionID: String
    public var customer: String
    /// Stripe's status, as sent.
    public var stripeStatus: String
    public var deleted: Bool
    public var cancelAtPeriodEnd: Bool
    public var canceledAt: Int64?
    /// The price of the first item: which plan the subscription is on.
    public var priceID: String?
    /// The price it replaced, when this update changed it (`previous_attributes.items`).
    public var previousPriceID: String?
    /// The current period (the subscription's own, or its first item's): when a downgrade takes effect, and
    /// the period the subscription is in.
    public var currentPeriodStart: Int64?
    public var currentPeriodEnd: Int64?

    init(_ object: [String: Any], previous: [String: Any], deleted: Bool) throws(ValidationError) {
        subscriptionID = try StripeFields.id(object, "id", prefix: "sub_")
        customer = try StripeFields.id(object, "customer", prefix: "cus_")
        stripeStatus = try JSONBody.requiredString(object, "status")
        self.deleted = deleted
        cancelAtPeriodEnd = object["cancel_at_period_end"] as? Bool ?? false
        canceledAt =
            (object["canceled_at"] as? NSNumber)?.int64Value ?? (object["ended_at"] as? NSNumber)?.int64Value
        let item = StripeFields.firstItem(of: object)
        priceID = StripeFields.price(of: object)
        previousPriceID = StripeFields.price(of: previous)
        currentPeriodStart =
            (object["current_period_start"] as? NSNumber)?.int64Value
            ?? (item?["current_period_start"] as? NSNumber)?.int64Value
        currentPeriodEnd =
            (object["current_period_end"] as? NSNumber)?.int64Value
            ?? (item?["current_period_end"] as? NSNumber)?.int64Value
    }
}

enum StripeFields {
    static func firstItem(of object: [String: Any]) -> [String: Any]? {
        ((object["items"] as? [String: Any])?["data"] as? [[String: Any]])?.first
    }

    static func price(of object: [String: Any]) -> String? {
        (firstItem(of: object)?["price"] as? [String: Any])?["id"] as? String
    }

    static func id(_ object: [String: Any], _ key: String, prefix: String) throws(ValidationError) -> String {
        guard let value = object[key] as? String, value.hasPrefix(prefix),
            (prefix.count + 1...255).contains(value.count)
        else { throw ValidationError(field: "data.object.\(key)", message: "must be a Stripe id (\(prefix)...)") }
        return value
    }
}

/// A subscription's status as Bullpen keeps it.
public enum SubscriptionStatus: String, Choice {
    case active
    case pastDue = "past_due"
    case canceled, completed, trialing

    /// Stripe's status read as Bullpen's: unpaid, incomplete and paused take no work like past_due;
    /// incomplete_expired never started and counts as canceled.
    public init(stripe: String) {
        switch stripe {
        case "active": self = .active
        case "trialing": self = .trialing
        case "canceled", "incomplete_expired": self = .canceled
        default: self = .pastDue
        }
    }

    /// Whether the client's work may be dispatched without an override.
    public var takesWork: Bool { self == .active || self == .trialing }
}

/// The billing state of one subscription (or one-time purchase), as the rules see it. Each group of fields
/// keeps the version of the newest event that set it, so events applied in any order end in one state:
/// - status: the newest of every event that sets it (checkout, invoices, subscription updates); canceled is
///   final, whichever event said so;
/// - plan and cancel-at-period-end: the newest subscription update;
/// - the period: the latest one Stripe says the subscription is in (a paid invoice for a billing period, or
///   the subscription's own current period; never a proration's), a new one resetting the usage count; the
///   checkout's provisional period gives way to Stripe's first.
public struct SubscriptionState: Sendable, Equatable {
    public var plan: Plan
    public var status: SubscriptionStatus
    public var statusVersion: BillingVersion
    public var detailsVersion: BillingVersion
    /// A downgrade waiting for the period it takes effect in.
    public var pendingPlan: Plan?
    public var pendingFrom: Int64?
    public var periodStart: Int64
    public var periodEnd: Int64?
    public var cancelAtPeriodEnd: Bool
    public var canceledAt: Int64?
    public var deliverablesUsed: Int

    public init(
        plan: Plan, status: SubscriptionStatus, statusVersion: BillingVersion, detailsVersion: BillingVersion,
        pendingPlan: Plan? = nil, pendingFrom: Int64? = nil, periodStart: Int64, periodEnd: Int64?,
        cancelAtPeriodEnd: Bool = false, canceledAt: Int64? = nil, deliverablesUsed: Int = 0
    ) {
        self.plan = plan
        self.status = status
        self.statusVersion = statusVersion
        self.detailsVersion = detailsVersion
        self.pendingPlan = pendingPlan
        self.pendingFrom = pendingFrom
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.cancelAtPeriodEnd = cancelAtPeriodEnd
        self.canceledAt = canceledAt
        self.deliverablesUsed = deliverablesUsed
    }
}

/// An invoice as the rules see it: paid is final; otherwise the newest event's figures.
public struct InvoiceState: Sendable, Equatable {
    public var paid: Bool
    public var version: BillingVersion
    public var amountDue: Int64
    public var amountPaid: Int64
    public var attemptCount: Int
    public var paidAt: Int64?
    public var hostedInvoiceURL: String?
    public var periodStart: Int64
    public var periodEnd: Int64

    public init(
        paid: Bool, version: BillingVersion, amountDue: Int64, amountPaid: Int64, attemptCount: Int, paidAt: Int64?,
        hostedInvoiceURL: String?, periodStart: Int64, periodEnd: Int64
    ) {
        self.paid = paid
        self.version = version
        self.amountDue = amountDue
        self.amountPaid = amountPaid
        self.attemptCount = attemptCount
        self.paidAt = paidAt
        self.hostedInvoiceURL = hostedInvoiceURL
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }
}

/// What an applied event means for people: each is a transition, so a duplicate or a stale event causes none.
public enum BillingNotice: Sendable, Equatable {
    case welcome
    case receipt
    case paymentFailed(attempt: Int)
    case canceled
    /// `atOnce`: an upgrade (or a downgrade whose period has begun); otherwise from `from` (unix seconds).
    case planChanged(from: Plan, to: Plan, atOnce: Bool)
}

/// The billing rules: how each Stripe event changes a subscription and its invoices. Pure; the billing worker
/// loads the rows, asks these rules, and writes what they answer.
public enum SubscriptionLedger {
    /// The subscription a checkout starts: active on the session's plan, its period from the checkout.
    public static func open(_ checkout: CheckoutCompleted, version: BillingVersion) -> SubscriptionState {
        SubscriptionState(
            plan: checkout.plan, status: .active, statusVersion: version, detailsVersion: version,
            periodStart: version.created, periodEnd: nil)
    }

    /// An invoice paid or failed: the invoice's own state, and the subscription's status and period.
    public static func apply(
        _ change: InvoiceChange, version: BillingVersion, to subscription: SubscriptionState,
        invoice stored: InvoiceState?
    ) -> (SubscriptionState, InvoiceState, [BillingNotice]) {
        var notices: [BillingNotice] = []
        var invoice =
            stored
            ?? InvoiceState(
                paid: false, version: version, amountDue: change.amountDue, amountPaid: change.amountPaid,
                attemptCount: 0, paidAt: nil, hostedInvoiceURL: change.hostedInvoiceURL,
                periodStart: change.periodStart, periodEnd: change.periodEnd)
        let wasPaid = stored?.paid ?? false
        if stored == nil || version > invoice.version {
            invoice.version = version
            invoice.amountDue = change.amountDue
            invoice.amountPaid = change.amountPaid
            invoice.hostedInvoiceURL = change.hostedInvoiceURL ?? invoice.hostedInvoiceURL
            invoice.periodStart = change.periodStart
            invoice.periodEnd = change.periodEnd
        }
        if change.paid {
            invoice.paid = true
            invoice.paidAt = version.created
            if !wasPaid { notices.append(.receipt) }
        } else if !wasPaid {
            // Each failed attempt is told once (its notification is keyed by the invoice and the attempt),
            // whatever order the attempts arrive in; none once the invoice is paid.
            notices.append(.paymentFailed(attempt: change.attemptCount))
        }
        invoice.attemptCount = max(invoice.attemptCount, change.attemptCount)

        var next = setStatus(change.paid ? .active : .pastDue, version: version, on: subscription, notices: &notices)
        if change.paid, change.coversPeriod {
            movePeriod(&next, start: change.periodStart, end: change.periodEnd)
        }
        return (next, invoice, notices)
    }

    /// A subscription updated or deleted: status, plan and cancel-at-period-end. `plan` is the plan of the
    /// event's price and `previousPlan` the plan of the price it replaced (`previous_attributes`; nil when
    /// the price did not change); `upgrade` whether the change costs more. The newest update alone decides
    /// the plan, so updates in any order agree: an upgrade takes effect at once (Stripe prorates it, so the
    /// client has paid for the larger allowance now); a downgrade with the next period (the current one is
    /// paid for on the larger plan), or at once if that period has begun (its invoice came first).
    public static func apply(
        _ change: SubscriptionChange, version: BillingVersion, plan newPlan: Plan?, previousPlan: Plan?,
        upgrade: Bool, to subscription: SubscriptionState
    ) -> (SubscriptionState, [BillingNotice]) {
        var notices: [BillingNotice] = []
        let status: SubscriptionStatus = change.deleted ? .canceled : SubscriptionStatus(stripe: change.stripeStatus)
        var next = setStatus(status, version: version, on: subscription, notices: &notices)
        if status == .canceled {
            let at = change.canceledAt ?? version.created
            next.canceledAt = min(next.canceledAt ?? at, at)
        }
        if !change.deleted, let start = change.currentPeriodStart, let end = change.currentPeriodEnd, end >= start {
            movePeriod(&next, start: start, end: end)
        }
        guard version > next.detailsVersion else { return (next, notices) }
        next.detailsVersion = version
        next.cancelAtPeriodEnd = change.cancelAtPeriodEnd
        guard let newPlan else { return (next, notices) }
        let before = previousPlan ?? newPlan
        next.pendingPlan = nil
        next.pendingFrom = nil
        if newPlan == before {
            next.plan = newPlan
        } else if upgrade || change.currentPeriodEnd.map({ $0 <= next.periodStart }) ?? true {
            notices.append(.planChanged(from: before, to: newPlan, atOnce: true))
            next.plan = newPlan
        } else {
            notices.append(.planChanged(from: before, to: newPlan, atOnce: false))
            next.plan = before
            next.pendingPlan = newPlan
            next.pendingFrom = change.currentPeriodEnd
        }
        return (next, notices)
    }

    private static func setStatus(
        _ status: SubscriptionStatus, version: BillingVersion, on subscription: SubscriptionState,
        notices: inout [BillingNotice]
    ) -> SubscriptionState {
        var next = subscription
        next.statusVersion = max(subscription.statusVersion, version)
        guard subscription.status != .canceled else { return next }
        if status == .canceled {
            next.status = .canceled
            notices.append(.canceled)
        } else if version > subscription.statusVersion {
            next.status = status
        }
        return next
    }

    /// The subscription is in the period `start...end`, as Stripe says (a paid invoice for a billing period, or
    /// the subscription's own current period). A later period than the one held moves it and resets the usage
    /// count; the period held until Stripe said one (a checkout's provisional start, no end) is replaced by
    /// Stripe's first, usage kept (it is the same period). An earlier one changes nothing, so any order agrees.
    static func movePeriod(_ state: inout SubscriptionState, start: Int64, end: Int64) {
        if state.periodEnd == nil {
            state.periodStart = start
            state.periodEnd = end
            applyPendingPlan(&state)
        } else if start > state.periodStart {
            state.periodStart = start
            state.periodEnd = end
            state.deliverablesUsed = 0
            applyPendingPlan(&state)
        }
    }

    private static func applyPendingPlan(_ state: inout SubscriptionState) {
        guard let pending = state.pendingPlan, let from = state.pendingFrom, from <= state.periodStart else { return }
        state.plan = pending
        state.pendingPlan = nil
        state.pendingFrom = nil
    }
}

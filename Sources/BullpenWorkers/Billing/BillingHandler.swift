import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// `stripe.event`: a verified Stripe event applied to clients, subscriptions and invoices
/// (``BillingStore``), with its emails and alerts in the same transaction. An event about an object whose
/// parent is not known yet goes back through the billing queue's delay tiers; one that can never apply is
/// parked with the reason.
public struct BillingHandler: SerializedMessageHandler {
    public typealias Message = StripeEventMessage

    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    public func handle(
        _ message: StripeEventMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        let event: BillingEvent
        do {
            event = try BillingEvent.parse(type: message.type, body: message.body)
        } catch {
            throw HandlerError.park(reason: "Stripe event \(message.eventId) (\(message.type)): \(error.description)")
        }
        let version = BillingVersion(created: message.created, eventID: message.eventId)
        let outcome: BillingStore.Outcome
        do {
            outcome = try BillingStore.apply(
                event, version: version, messageID: inbound.messageID, now: clock(), in: tx)
        } catch let error as BillingStore.Unappliable {
            throw HandlerError.park(reason: error.description)
        } catch let error as CommandRejection {
            throw HandlerError.park(reason: "Stripe event \(message.eventId): \(error)")
        }
        switch outcome {
        case .waiting(let reason):
            throw HandlerError.retryLater(reason: reason)
        case .applied(let applied):
            try notify(applied, eventID: message.eventId, in: tx)
            return .applied
        }
    }

    /// One Stripe customer's events are applied one transaction at a time, across consumers, in the order the
    /// runtime takes them (the same key ``BillingStore`` locks; taken before any of a batch's work, in one
    /// order, so two consumers never deadlock on two customers).
    public func lockKeys(_ message: StripeEventMessage) -> [String] {
        guard let event = try? BillingEvent.parse(type: message.type, body: message.body) else { return [] }
        return [BillingStore.lockKey(customer: event.customer)]
    }

    /// Each notice once: keyed by the Stripe object and what happened to it, so a replayed event or a second
    /// event saying the same thing writes nothing new.
    private func notify(_ applied: BillingStore.Applied, eventID: String, in tx: PGConnection) throws {
        var data = [
            "title": "Bullpen \(applied.plan.name)", "plan": applied.plan.name,
            "subscriptionId": String(applied.subscriptionID), "clientId": String(applied.clientID),
        ]
        if let invoice = applied.invoice {
            data["amount"] = Money.format(invoice.amountCents, invoice.currency)
            data["invoiceId"] = invoice.stripeID
            data["invoiceURL"] = invoice.url ?? ""
        }
        if let project = applied.projectID { data["projectId"] = String(project) }
        for notice in applied.notices {
            switch notice {
            case .welcome:
                try Notify.client(
                    .welcome, cause: "subscription-\(applied.subscriptionID)", clientID: applied.clientID,
                    email: applied.email, projectID: applied.projectID, taskID: nil, data: data, in: tx)
            case .receipt:
                try Notify.client(
                    .receipt, cause: applied.invoice?.stripeID ?? eventID, clientID: applied.clientID,
                    email: applied.email, projectID: nil, taskID: nil, data: data, priority: 3, in: tx)
            case .paymentFailed(let attempt):
                let cause = "\(applied.invoice?.stripeID ?? eventID)-\(attempt)"
                data["attempt"] = String(attempt)
                data["reason"] = "the payment of invoice \(applied.invoice?.stripeID ?? "") failed (attempt \(attempt))"
                try Notify.client(
                    .paymentFailed, cause: cause, clientID: applied.clientID, email: applied.email, projectID: nil,
                    taskID: nil, data: data, priority: 4, in: tx)
                try Notify.operators(
                    .billingAlert, cause: "payment-failed-\(cause)", taskID: nil, projectID: nil, data: data,
                    priority: 4, in: tx)
            case .canceled:
                data["reason"] =
                    "subscription \(applied.subscriptionID) was canceled; the client's queued and new dispatches are held"
                try Notify.operators(
                    .billingAlert, cause: "canceled-\(applied.subscriptionID)", taskID: nil, projectID: nil, data: data,
                    priority: 4, in: tx)
            case .planChanged:
                break
            }
        }
    }
}

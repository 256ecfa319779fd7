import Foundation

/// A Stripe webhook event as Bullpen reads it: `{id: "evt_...", object: "event", type, created, data: {object}}`.
/// The event's object stays as Stripe sent it (JSON text) for the billing worker.
public struct StripeEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    /// When Stripe created the event (unix seconds): how the billing worker orders changes to one object.
    public var created: Int64
    /// `data.object`, as JSON text.
    public var object: String
    /// `data.previous_attributes` (an update's old values), as JSON text.
    public var previousAttributes: String?

    /// The event types the billing worker applies; any other is acknowledged and dropped.
    public static let handledTypes: Set<String> = [
        "checkout.session.completed", "invoice.paid", "invoice.payment_failed", "customer.subscription.updated",
        "customer.subscription.deleted",
    ]

    public var isHandled: Bool { Self.handledTypes.contains(type) }

    /// Reads a verified body; the error names the field at fault.
    public static func parse(_ body: [UInt8]) throws(ValidationError) -> StripeEvent {
        let object = try JSONBody.object(body)
        let id = try JSONBody.requiredString(object, "id")
        guard id.hasPrefix("evt_"), (5...255).contains(id.utf8.count),
            id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { throw ValidationError(field: "id", message: "must be a Stripe event id (evt_...)") }
        guard try JSONBody.optionalString(object, "object") ?? "event" == "event" else {
            throw ValidationError(field: "object", message: "must be \"event\"")
        }
        let type = try JSONBody.requiredString(object, "type")
        guard (1...100).contains(type.utf8.count) else {
            throw ValidationError(field: "type", message: "must be 1 to 100 characters")
        }
        guard let created = object["created"] as? Int, created > 0 else {
            throw ValidationError(field: "created", message: "must be unix seconds")
        }
        guard let data = object["data"] as? [String: Any], let inner = data["object"] as? [String: Any],
            let text = try? JSONSerialization.data(withJSONObject: inner, options: [.sortedKeys])
        else { throw ValidationError(field: "data.object", message: "must be an object") }
        let previous = (data["previous_attributes"] as? [String: Any]).flatMap {
            try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])
        }
        return StripeEvent(
            id: id, type: type, created: Int64(created), object: String(decoding: text, as: UTF8.self),
            previousAttributes: previous.map { String(decoding: $0, as: UTF8.self) })
    }
}

/// A Stripe event on the billing queue. Its id is Stripe's, so an event Stripe delivers twice is applied once.
public struct StripeEventMessage: BullpenMessage, Equatable {
    public static let name = "stripe.event"
    public static let queue = WorkQueue.billing
    public static let schemaVersion = 1

    public var schema: Int
    public var eventId: String
    public var type: String
    public var created: Int64
    public var object: String
    public var previousAttributes: String?

    public init(event: StripeEvent) {
        schema = Self.schemaVersion
        eventId = event.id
        type = event.type
        created = event.created
        object = event.object
        previousAttributes = event.previousAttributes
    }

    public var messageID: String { "stripe:\(eventId)" }
}

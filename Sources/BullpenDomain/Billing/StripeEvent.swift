import Foundation

/// A Stripe webhook event as ingest reads it: `{id: "evt_...", object: "event", type, created, data: {object}}`,
/// checked, and kept as Stripe sent it (the billing worker reads `data`); nothing is re-encoded on the way in.
public struct StripeEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    /// When Stripe created the event (unix seconds): how the billing worker orders changes to one object.
    public var created: Int64
    /// The event's JSON text, as received.
    public var body: String

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
        guard let data = object["data"] as? [String: Any], data["object"] is [String: Any] else {
            throw ValidationError(field: "data.object", message: "must be an object")
        }
        return StripeEvent(id: id, type: type, created: Int64(created), body: String(decoding: body, as: UTF8.self))
    }
}

/// A Stripe event on the billing queue: the event as Stripe sent it. Its id is Stripe's, so an event Stripe
/// delivers twice is applied once. Schema 2: schema 1 carried `data.object` re-encoded (ingest's time went to
/// encoding it again).
public struct StripeEventMessage: BullpenMessage, Equatable {
    public static let name = "stripe.event"
    public static let queue = WorkQueue.billing
    public static let schemaVersion = 2

    public var schema: Int
    public var eventId: String
    public var type: String
    public var created: Int64
    public var body: String

    public init(event: StripeEvent) {
        schema = Self.schemaVersion
        eventId = event.id
        type = event.type
        created = event.created
        body = event.body
    }

    public var messageID: String { "stripe:\(eventId)" }
}

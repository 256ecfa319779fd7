import BullpenDomain
import BullpenMessaging
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /webhooks/stripe`: Stripe's events, signed with `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=...]`
/// (HMAC-SHA256 of `"<t>.<raw body>"` keyed with the whole `whsec_` secret; several secrets during a
/// rotation; 300 s tolerance; constant-time comparison).
/// - 200 after the broker's confirm for an event the billing worker applies, published with message id
///   `stripe:<event id>` (so a redelivered event is applied once); 200 with `ignored` for any other type,
///   logged and dropped, as Stripe needs a 2xx for every event it sends.
/// - 400 with the signature's code (`signature_missing`, `signature_malformed`, `signature_stale`,
///   `signature_mismatch`) or the body's; nothing is published. 413 beyond 1 MiB.
/// - 503 when no webhook secret is configured, or the broker is down (Stripe retries).
struct StripeWebhookRoutes {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let secrets: [String]
    static let maxBodyBytes = 1 << 20

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("stripe") { request, context in try await post(request, context: context) }
        return routes
    }

    struct Received: Codable, Equatable {
        let received: Bool
        let eventId: String
        let ignored: Bool
    }

    func post(_ request: Request, context: APIContext) async throws -> Response {
        let body = try await SignedWebhook.body(
            request, secrets: secrets, upTo: Self.maxBodyBytes, endpoint: "Stripe webhooks are",
            variable: "BULLPEN_STRIPE_WEBHOOK_SECRET", code: "stripe_not_configured")
        _ = try SignedWebhook.verify(request, header: "Stripe-Signature", body: body, secrets: secrets)
        let event: StripeEvent
        do { event = try StripeEvent.parse(body) } catch {
            throw APIError.invalid(error)
        }
        guard event.isHandled else {
            context.logger.info(
                "Stripe event of a type Bullpen does not apply; dropped",
                metadata: ["stripe.event": "\(event.id)", "stripe.type": "\(event.type)"])
            return .json(.ok, Received(received: true, eventId: event.id, ignored: true))
        }
        let message = StripeEventMessage(event: event)
        try await publisher.publishConfirmed(message, topology: topology, what: "the event", logger: context.logger)
        return .json(.ok, Received(received: true, eventId: event.id, ignored: false))
    }
}

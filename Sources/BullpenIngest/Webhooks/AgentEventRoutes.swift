import BullpenDomain
import BullpenMessaging
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /webhooks/agents/event`: the gateway's lifecycle hook (command:new, command:reset, command:stop,
/// agent:bootstrap, gateway:startup), signed with `X-Bullpen-Signature: t=<unix s>,v1=<hex>` (HMAC-SHA256
/// of `"<t>.<raw body>"` with the hook secret; several secrets during a rotation; 300 s tolerance).
/// - 202 after the broker's confirm; the same signed body again is the same event (its id is the body's
///   SHA-256), so a redelivered hook changes nothing twice.
/// - 400 with the signature's code (`signature_missing`, `signature_malformed`, `signature_stale`,
///   `signature_mismatch`) or the body's (`invalid_body`, `invalid_field`); nothing is published.
/// - 503 when no hook secret is configured, or the broker is down.
/// `context.cfg` (the gateway's configuration) is dropped before the event goes anywhere.
struct AgentEventRoutes {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let secrets: [String]
    static let maxBodyBytes = 64 * 1024

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("event") { request, context in try await post(request, context: context) }
        return routes
    }

    func post(_ request: Request, context: APIContext) async throws -> Response {
        let body = try await SignedWebhook.body(
            request, secrets: secrets, upTo: Self.maxBodyBytes, endpoint: "the lifecycle hook is",
            variable: "BULLPEN_HOOK_SECRET", code: "hook_not_configured")
        let signedAt = try SignedWebhook.verify(
            request, header: "X-Bullpen-Signature", body: body, secrets: secrets)
        let event: AgentLifecycleEvent
        do { event = try AgentLifecycleEvent.parse(body) } catch {
            throw APIError.invalid(error)
        }
        let eventID = ContentID.of(body)
        let message = AgentLifecycleMessage(eventId: eventID, event: event, signedAt: signedAt)
        try await publisher.publishConfirmed(message, topology: topology, what: "the event", logger: context.logger)
        return .json(.accepted, Accepted(accepted: true, eventId: eventID))
    }

    struct Accepted: Codable, Equatable {
        let accepted: Bool
        let eventId: String
    }
}

import BullpenDomain
import BullpenMessaging
import Hummingbird

/// `POST /webhooks/slack`: Slack's Events API, signed with `X-Slack-Request-Timestamp` and `X-Slack-Signature:
/// v0=<hex>` (HMAC-SHA256 of `"v0:<timestamp>:<raw body>"` keyed with the app's signing secret; several
/// secrets during a rotation; 300 s tolerance; constant-time comparison). See ``SlackEvent``.
/// - 200 `{"challenge": ...}` for Slack's `url_verification`.
/// - 200 after the broker's confirm for a person's message, published with message id `slack:<event id>` (so
///   Slack's retries, `X-Slack-Retry-Num`, are one message); 200 with `ignored` and the reason for any other
///   event (edits, bots' messages, other types), as Slack needs a 2xx for every event it sends.
/// - 400 with the signature's code (`signature_missing`, `signature_malformed`, `signature_stale`,
///   `signature_mismatch`) or naming the body's field; nothing is published. 413 beyond 1 MiB.
/// - 503 when no signing secret is configured, or the broker is down (Slack retries).
struct SlackEventRoutes {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let secrets: [String]
    static let maxBodyBytes = 1 << 20

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("slack") { request, context in try await post(request, context: context) }
        return routes
    }

    struct Challenge: Codable, Equatable {
        let challenge: String
    }

    struct Received: Codable, Equatable {
        let received: Bool
        let eventId: String?
        let ignored: String?
    }

    func post(_ request: Request, context: APIContext) async throws -> Response {
        let body = try await SignedWebhook.body(
            request, secrets: secrets, upTo: Self.maxBodyBytes, endpoint: "Slack events are",
            variable: "BULLPEN_SLACK_SIGNING_SECRET", code: "slack_not_configured")
        _ = try SignedWebhook.verifySlack(request, body: body, secrets: secrets)
        let event: SlackEvent
        do { event = try SlackEvent.parse(body) } catch { throw APIError.invalid(error) }
        switch event {
        case .urlVerification(let challenge):
            return .json(.ok, Challenge(challenge: challenge))
        case .ignored(let eventID, let reason):
            context.logger.info(
                "Slack event Bullpen does not take; dropped",
                metadata: ["slack.event": "\(eventID ?? "-")", "reason": "\(reason)"])
            return .json(.ok, Received(received: true, eventId: eventID, ignored: reason))
        case .message(let message):
            try await publisher.publishConfirmed(
                message, topology: topology, what: "the message", logger: context.logger)
            return .json(.ok, Received(received: true, eventId: message.eventId, ignored: nil))
        }
    }
}

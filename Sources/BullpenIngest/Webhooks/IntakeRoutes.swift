import BullpenDomain
import BullpenMessaging
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/intake {name, email, company?, brief, plan?, source?, website?}`: the agency's public intake form
/// (no token). Each field is checked (400 naming it); `website` is hidden from people on the page, so a value
/// there is a bot's and is refused. A sender (``Sender``: never the address a brief names, which a stranger
/// could use to lock its owner out) may send three briefs, then one every ten minutes (429 with
/// `Retry-After`); the same brief from the same address is one lead however often it comes (its message id is
/// a digest of both). 202 after the broker's confirm; the command worker makes the lead and the emails. An
/// address is not an identity: a brief naming an active client's address stays a lead until the address's
/// owner confirms it by the link emailed there (``IntakeConfirmRoutes``).
struct IntakeRoutes {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let trustedProxies: Set<String>
    private let buckets = KeyedBuckets<String>()
    static let maxBodyBytes = 64 << 10
    static let perSenderBurst = 3
    static let refillSeconds = 600.0

    init(publisher: ConfirmingPublisher, topology: Topology, trustedProxies: Set<String> = []) {
        self.publisher = publisher
        self.topology = topology
        self.trustedProxies = trustedProxies
    }

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("intake") { request, context in try await post(request, context: context) }
        return routes
    }

    struct Accepted: Codable, Equatable {
        let accepted: Bool
        let messageId: String
    }

    /// The address and the brief's content id (as the lifecycle hook's event ids).
    static func digest(_ email: String, _ brief: String) -> String {
        ContentID.of(email + "\n" + brief)
    }

    func post(_ request: Request, context: APIContext) async throws -> Response {
        let body = try await RequestBody.read(request, upTo: Self.maxBodyBytes)
        let submission: IntakeSubmission
        do { submission = try IntakeSubmission(form: body, dedupe: Self.digest) } catch {
            throw APIError.invalid(error)
        }
        if let seconds = buckets.take(
            Sender.of(request, context, trustedProxies: trustedProxies), perSecond: 1 / Self.refillSeconds,
            burst: Self.perSenderBurst)
        {
            throw APIError(
                .tooManyRequests, "you sent \(Self.perSenderBurst) briefs lately; retry in \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        }
        try await publisher.publishConfirmed(submission, topology: topology, what: "the brief", logger: context.logger)
        return .json(.accepted, Accepted(accepted: true, messageId: submission.messageID))
    }
}

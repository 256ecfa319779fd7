import BullpenDomain
import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Providers

/// `POST /v1/checkout {plan, email, brief?}`: public (the agency's pricing page calls it), so no token; each
/// sender (``Sender``; never the email address it names, which a stranger could use to lock its owner out)
/// may start a few sessions, then one every ten minutes (429 with `Retry-After`). Creates a
/// Stripe Checkout Session for the plan's price (`Config/plans.json`) through Stripe's API, with the plan and
/// brief in its metadata (the billing worker reads them back from `checkout.session.completed`), and answers
/// 200 `{sessionId, url}`. The request's `Idempotency-Key`, if any, is Stripe's (a retried request gets the
/// same session); otherwise each request is a new session. 502 when Stripe refuses or does not answer (its
/// message, never the key); 503 when no Stripe secret key is configured.
struct CheckoutRoutes {
    let settings: IngestConfiguration.CheckoutSettings?
    let trustedProxies: Set<String>
    private let buckets = KeyedBuckets<String>()

    init(settings: IngestConfiguration.CheckoutSettings?, trustedProxies: Set<String> = []) {
        self.settings = settings
        self.trustedProxies = trustedProxies
    }

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("checkout") { request, context in try await post(request, context: context) }
        return routes
    }

    struct Started: Codable, Equatable {
        let sessionId: String
        let url: String
    }

    struct Asked {
        let plan: Plan
        let email: String
        let brief: String?

        init(_ body: [UInt8]) throws(ValidationError) {
            let object = try JSONBody.object(body)
            for key in object.keys where !["plan", "email", "brief"].contains(key) {
                throw ValidationError(field: key, message: "is not a field of a checkout (plan, email, brief)")
            }
            guard let plan = Plan(rawValue: try JSONBody.requiredString(object, "plan")) else {
                throw ValidationError(field: "plan", message: "must be one of: \(Plan.choices)")
            }
            let email = try JSONBody.requiredString(object, "email")
            try Check.email(email, "email")
            let brief = try JSONBody.optionalString(object, "brief")
            try Check.text(brief, "brief", length: 1...450)
            self.plan = plan
            self.email = email
            self.brief = brief
        }
    }

    func post(_ request: Request, context: APIContext) async throws -> Response {
        try JSONContentType<APIContext>.require(request)
        let given = try OperatorAPI.idempotencyKey(request)
        let body = try await RequestBody.read(request, upTo: 16 << 10)
        let asked: Asked
        do { asked = try Asked(body) } catch {
            throw APIError.invalid(error)
        }
        guard let settings else {
            throw APIError(
                .serviceUnavailable, "checkout is not configured on this ingest (BULLPEN_STRIPE_SECRET_KEY)",
                code: "stripe_not_configured")
        }
        if let seconds = buckets.take(
            Sender.of(request, context, trustedProxies: trustedProxies), perSecond: 1 / settings.refillSeconds,
            burst: settings.perAddressBurst)
        {
            throw APIError(
                .tooManyRequests,
                "you started \(settings.perAddressBurst) checkouts lately; retry in \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        }
        let plan = settings.catalog[asked.plan]
        var metadata = ["plan": plan.id.rawValue]
        if let brief = asked.brief { metadata["brief"] = brief }
        let checkout = CheckoutRequest(
            mode: plan.mode.rawValue, priceID: plan.stripePriceId, email: asked.email, successURL: settings.successURL,
            cancelURL: settings.cancelURL, metadata: metadata)
        let key = "bullpen-checkout-" + (given ?? UUID().uuidString)
        let stripe = settings.stripe
        let session: CheckoutSession
        do {
            session = try await Blocking.run { try stripe.createCheckoutSession(checkout, idempotencyKey: key) }
        } catch let error as StripeAPIError {
            context.logger.warning("Stripe refused a checkout", metadata: ["error": "\(error)"])
            throw APIError(.badGateway, error.description, code: "stripe_error")
        }
        return .json(.ok, Started(sessionId: session.id, url: session.url))
    }
}

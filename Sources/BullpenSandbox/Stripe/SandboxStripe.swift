import BullpenDomain
import Foundation
import HTTPClient
import Hummingbird
import Logging
import Providers
import Synchronization

/// `bullpen sandbox stripe`: a stand-in for the parts of Stripe Bullpen calls, and for Stripe's webhooks.
/// - `POST /v1/checkout/sessions`: form-encoded as Stripe takes it, a `Bearer sk_test_...` key, a known
///   price; an `Idempotency-Key` (same key and parameters: the first session again; other parameters: 400
///   `idempotency_error`). Answers a `cs_test_...` session with its `url`. `GET /v1/checkout/sessions/{id}`.
/// - `POST /sandbox/checkout/sessions/{id}/pay`: the client "pays": the sandbox opens the customer's
///   account (``StripeAccount``) and sends the webhooks Stripe would send, signed with the webhook secret,
///   to the webhook URL: in Stripe's order, or `{"order": "shuffled"}`, with `{"duplicates": n}` events
///   sent again.
/// - `POST /sandbox/customers/{customer}/{renew|fail|change|cancel}`: the account's later life (`fail`:
///   `{"attempts", "recovers"}`; `change`: `{"price"}`), with the same delivery options.
/// - Stripe's hosted pages, as plain forms on the stand-in: a session's `url` is `/c/pay/{id}` here, where
///   "Pay" does what `/pay` does and goes on to the session's `success_url`; `POST /v1/billing_portal/sessions`
///   (`customer`, `return_url`) answers a `bps_...` session whose `url`, `/p/session/{id}`, is the Customer
///   Portal: the customer's plan and the others it may switch to (a change sends
///   `customer.subscription.updated` as `/change` does), and a way back to `return_url`.
/// - `GET /sandbox/state`: the sessions, and every webhook sent with the status it was answered.
public final class SandboxStripe: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var webhookURL: String?
        public var webhookSecret: String
        public var catalog: PlanCatalog

        public init(
            host: String = "127.0.0.1", port: Int = 12111, webhookURL: String?, webhookSecret: String,
            catalog: PlanCatalog
        ) {
            self.host = host
            self.port = port
            self.webhookURL = webhookURL
            self.webhookSecret = webhookSecret
            self.catalog = catalog
        }
    }

    public struct Delivery: Codable, Sendable, Equatable {
        public var eventId: String
        public var type: String
        /// The HTTP status the webhook endpoint answered; 0 for none.
        public var status: Int
    }

    public struct Snapshot: Codable, Sendable, Equatable {
        public var sessions = 0
        public var paid = 0
        public var deliveries: [Delivery] = []
    }

    struct Session {
        var object: [String: AnyEncodable]
        var plan: PlanDefinition
        var email: String
        var metadata: [String: String]
        var successURL: String
        var customer: String?
    }

    private struct State {
        var sessions: [String: Session] = [:]
        var accounts: [String: StripeAccount] = [:]
        var keys: [String: (form: String, sessionID: String)] = [:]
        /// Customer Portal sessions: id -> (customer, return URL).
        var portals: [String: (customer: String, returnURL: String)] = [:]
        var snapshot = Snapshot()
    }

    public let configuration: Configuration
    let logger: Logger
    private let state = Mutex(State())
    private let webhookURL: Mutex<String?>

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        webhookURL = Mutex(configuration.webhookURL)
    }

    /// Points the webhooks elsewhere (a test learns ingest's port after both started).
    public func setWebhookURL(_ url: String?) { webhookURL.withLock { $0 = url } }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    // MARK: the API

    func createSession(_ request: Request, body: [UInt8]) -> Response {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer sk_test_") else {
            return Self.stripeError(401, "invalid_request_error", "Invalid API Key provided.")
        }
        let text = String(decoding: body, as: UTF8.self)
        let fields = Dictionary(FormEncoding.decode(text), uniquingKeysWith: { _, last in last })
        guard let mode = fields["mode"], mode == "payment" || mode == "subscription" else {
            return Self.stripeError(400, "invalid_request_error", "Missing required param: mode.", param: "mode")
        }
        guard let price = fields["line_items[0][price]"], let plan = configuration.catalog.plan(priceID: price) else {
            return Self.stripeError(
                400, "invalid_request_error", "No such price: '\(fields["line_items[0][price]"] ?? "")'",
                param: "line_items[0][price]")
        }
        guard plan.mode.rawValue == mode else {
            return Self.stripeError(
                400, "invalid_request_error", "You must provide a recurring price in `subscription` mode.",
                param: "mode")
        }
        guard let success = fields["success_url"], !success.isEmpty else {
            return Self.stripeError(
                400, "invalid_request_error", "Missing required param: success_url.", param: "success_url")
        }
        let email = fields["customer_email"] ?? ""
        var metadata: [String: String] = [:]
        for (key, value) in fields where key.hasPrefix("metadata[") && key.hasSuffix("]") {
            metadata[String(key.dropFirst(9).dropLast())] = value
        }
        let key = request.headers[.init("Idempotency-Key")!]
        return state.withLock { state in
            if let key, let seen = state.keys[key] {
                guard seen.form == text, let session = state.sessions[seen.sessionID] else {
                    return Self.stripeError(
                        400, "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first used with."
                    )
                }
                return Self.json(200, session.object)
            }
            let id = "cs_test_" + StripeIDs.random(58)
            let object: [String: AnyEncodable] = [
                "id": .init(id), "object": .init("checkout.session"), "mode": .init(mode), "status": .init("open"),
                "payment_status": .init("unpaid"), "url": .init("\(baseURL)/c/pay/\(id)"),
                "customer_email": .init(email), "currency": .init("usd"), "amount_total": .init(plan.amountCents),
                "success_url": .init(success), "metadata": .init(metadata),
            ]
            state.sessions[id] = Session(
                object: object, plan: plan, email: email, metadata: metadata, successURL: success)
            if let key { state.keys[key] = (text, id) }
            state.snapshot.sessions += 1
            return Self.json(200, object)
        }
    }

    func session(_ id: String) -> Response {
        guard let session = state.withLock({ $0.sessions[id] }) else {
            return Self.stripeError(404, "invalid_request_error", "No such checkout.session: '\(id)'")
        }
        return Self.json(200, session.object)
    }

    /// Where the browser reaches the stand-in's hosted pages.
    var baseURL: String { "http://\(configuration.host):\(configuration.port)" }

    func createPortalSession(_ request: Request, body: [UInt8]) -> Response {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer sk_test_") else {
            return Self.stripeError(401, "invalid_request_error", "Invalid API Key provided.")
        }
        let fields = Dictionary(FormEncoding.decode(String(decoding: body, as: UTF8.self))) { _, last in last }
        guard let customer = fields["customer"], !customer.isEmpty else {
            return Self.stripeError(
                400, "invalid_request_error", "Missing required param: customer.", param: "customer")
        }
        return state.withLock { state in
            guard state.accounts[customer] != nil else {
                return Self.stripeError(
                    400, "invalid_request_error", "No such customer: '\(customer)'", param: "customer")
            }
            let id = "bps_" + StripeIDs.random(24)
            let returnURL = fields["return_url"] ?? ""
            state.portals[id] = (customer, returnURL)
            return Self.json(
                200,
                [
                    "id": id, "object": "billing_portal.session", "customer": customer, "return_url": returnURL,
                    "url": "\(baseURL)/p/session/\(id)",
                ])
        }
    }

    /// The hosted Checkout page: what is bought, and "Pay".
    func checkoutPage(_ id: String) -> Response {
        guard let session = state.withLock({ $0.sessions[id] }) else { return Self.page(404, "No such session", "") }
        let plan = session.plan
        return Self.page(
            200, "Pay Bullpen",
            """
            <p>\(Self.escape(plan.name)): \(plan.amountCents / 100) USD\(plan.interval.map { " a \($0)" } ?? "").</p>
            <form method="post" action="/c/pay/\(id)"><button type="submit" id="pay">Pay</button></form>
            """)
    }

    func payFromPage(_ id: String) async -> Response {
        let paid = await pay(id, options: DeliveryOptions())
        guard paid.status == .ok, let success = state.withLock({ $0.sessions[id]?.successURL }) else {
            return Self.page(400, "This session cannot be paid", "")
        }
        let url = success.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id)
        return Response(status: .seeOther, headers: [.location: url])
    }

    /// The Customer Portal: the customer's plan, the plans it may switch to, and the way back.
    func portalPage(_ id: String) -> Response {
        guard let portal = state.withLock({ $0.portals[id] }),
            let account = state.withLock({ $0.accounts[portal.customer] })
        else { return Self.page(404, "This link has expired", "") }
        let current = configuration.catalog.plan(priceID: account.priceID)
        let others = configuration.catalog.plans.filter {
            $0.mode == .subscription && $0.stripePriceId != account.priceID
        }
        let choices = others.map { plan in
            """
            <li><form method="post" action="/p/session/\(id)/change"><input type="hidden" name="price" value="\(Self.escape(plan.stripePriceId))">
            <button type="submit" id="switch-\(plan.id.rawValue)">Switch to \(Self.escape(plan.name)) (\(plan.amountCents / 100) USD)</button></form></li>
            """
        }
        return Self.page(
            200, "Your subscription",
            """
            <p id="current-plan">Current plan: \(Self.escape(current?.name ?? account.priceID))</p>
            <ul>\(choices.joined())</ul>
            <p><a href="\(Self.escape(portal.returnURL))" id="return">Return to Bullpen</a></p>
            """)
    }

    func portalChange(_ id: String, body: [UInt8]) async -> Response {
        let fields = Dictionary(FormEncoding.decode(String(decoding: body, as: UTF8.self))) { _, last in last }
        guard let portal = state.withLock({ $0.portals[id] }) else {
            return Self.page(404, "This link has expired", "")
        }
        var options = DeliveryOptions()
        options.price = fields["price"]
        let changed = await act(customer: portal.customer, action: "change", options: options)
        guard changed.status == .ok else { return Self.page(400, "That plan cannot be chosen", "") }
        return Response(status: .seeOther, headers: [.location: portal.returnURL])
    }

    static func page(_ status: Int, _ title: String, _ body: String) -> Response {
        SandboxPage.response(status, service: "Stripe", title: title, body: body)
    }

    static func escape(_ text: String) -> String { SandboxPage.escape(text) }

    // MARK: the sandbox's verbs

    struct DeliveryOptions: Decodable {
        var order: String?
        var duplicates: Int?
        var attempts: Int?
        var recovers: Bool?
        var price: String?

        init() {}
    }

    /// Pays an open session: the account opens and its first events are sent.
    func pay(_ id: String, options: DeliveryOptions) async -> Response {
        let events: [[String: Any]]? = state.withLock { state in
            guard var session = state.sessions[id], session.customer == nil else { return nil }
            var account = StripeAccount(
                email: session.email, name: session.metadata["name"] ?? String(session.email.prefix { $0 != "@" }),
                plan: session.plan, at: Int64(Date().timeIntervalSince1970))
            let events = account.checkout(sessionID: id, brief: session.metadata["brief"])
            session.customer = account.customer
            session.object["status"] = .init("complete")
            session.object["payment_status"] = .init("paid")
            session.object["customer"] = .init(account.customer)
            state.sessions[id] = session
            state.accounts[account.customer] = account
            state.snapshot.paid += 1
            return events.map { $0 }
        }
        guard let events else {
            return Self.stripeError(400, "invalid_request_error", "No open checkout.session '\(id)' to pay.")
        }
        let customer = state.withLock { $0.sessions[id]?.customer ?? "" }
        return await send(events.map(StripeIDs.body), customer: customer, options: options)
    }

    func act(customer: String, action: String, options: DeliveryOptions) async -> Response {
        let bodies: [[UInt8]]? = state.withLock { state in
            guard var account = state.accounts[customer] else { return nil }
            let events: [[String: Any]]
            switch action {
            case "renew": events = account.renew()
            case "fail":
                events = account.failPayment(
                    attempts: max(1, options.attempts ?? 1), recovers: options.recovers ?? false)
            case "change":
                guard let price = options.price, configuration.catalog.plan(priceID: price) != nil else { return nil }
                events = account.changePrice(to: price)
            case "cancel": events = account.cancel()
            default: return nil
            }
            state.accounts[customer] = account
            return events.map(StripeIDs.body)
        }
        guard let bodies else {
            return Self.stripeError(
                400, "invalid_request_error",
                "No such customer '\(customer)', or \(action) is not renew, fail, change (with a known price) or cancel"
            )
        }
        return await send(bodies, customer: customer, options: options)
    }

    /// Sends events to the webhook URL, one at a time, signed as Stripe signs.
    private func send(_ bodies: [[UInt8]], customer: String, options: DeliveryOptions) async -> Response {
        var deliveries = bodies
        if let duplicates = options.duplicates, duplicates > 0 {
            deliveries += (0..<duplicates).map { bodies[$0 % bodies.count] }
        }
        if options.order == "shuffled" { deliveries.shuffle() }
        var sent: [Delivery] = []
        for body in deliveries {
            let event = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            let status = await post(body)
            sent.append(
                Delivery(eventId: event["id"] as? String ?? "", type: event["type"] as? String ?? "", status: status))
        }
        state.withLock { $0.snapshot.deliveries += sent }
        let encoded = sent.map { ["eventId": $0.eventId, "type": $0.type, "status": String($0.status)] }
        return Self.json(200, ["customer": [["id": customer]], "deliveries": encoded])
    }

    private func post(_ body: [UInt8]) async -> Int {
        guard let url = webhookURL.withLock({ $0 }) else { return 0 }
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/json; charset=utf-8"),
                ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
                ("Stripe-Signature", SandboxSigning.header(body: body, secret: configuration.webhookSecret)),
            ],
            body: body, timeout: .seconds(10))
        let response = try? await Blocking.run { try CurlClient.perform(request) }
        return response?.status ?? 0
    }

    // MARK: the application

    public func application() -> some ApplicationProtocol {
        let router = Router()
        router.get("/sandbox/state") { _, _ in try JSONResponse(self.snapshot) }
        router.post("/v1/checkout/sessions") { request, _ in
            self.createSession(request, body: Array(buffer: try await request.body.collect(upTo: 1 << 16)))
        }
        router.get("/v1/checkout/sessions/:id") { _, context in
            self.session(context.parameters.get("id") ?? "")
        }
        router.post("/v1/billing_portal/sessions") { request, _ in
            self.createPortalSession(request, body: Array(buffer: try await request.body.collect(upTo: 1 << 16)))
        }
        router.get("/c/pay/:id") { _, context in self.checkoutPage(context.parameters.get("id") ?? "") }
        router.post("/c/pay/:id") { _, context in await self.payFromPage(context.parameters.get("id") ?? "") }
        router.get("/p/session/:id") { _, context in self.portalPage(context.parameters.get("id") ?? "") }
        router.post("/p/session/:id/change") { request, context in
            await self.portalChange(
                context.parameters.get("id") ?? "", body: Array(buffer: try await request.body.collect(upTo: 1 << 14)))
        }
        router.post("/sandbox/checkout/sessions/:id/pay") { request, context in
            await self.pay(context.parameters.get("id") ?? "", options: try await Self.options(request))
        }
        router.post("/sandbox/customers/:customer/:action") { request, context in
            await self.act(
                customer: context.parameters.get("customer") ?? "", action: context.parameters.get("action") ?? "",
                options: try await Self.options(request))
        }
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "stripe-sandbox"),
            logger: logger)
    }

    static func options(_ request: Request) async throws -> DeliveryOptions {
        let body = Array(buffer: try await request.body.collect(upTo: 1 << 16))
        guard !body.isEmpty else { return DeliveryOptions() }
        return (try? JSONDecoder().decode(DeliveryOptions.self, from: Data(body))) ?? DeliveryOptions()
    }

    static func stripeError(_ status: Int, _ type: String, _ message: String, param: String? = nil) -> Response {
        var error = ["type": type, "message": message]
        if let param { error["param"] = param }
        return json(status, ["error": error])
    }

    static func json<Value: Encodable>(_ status: Int, _ value: Value) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array((try? encoder.encode(value)) ?? Data()))))
    }
}

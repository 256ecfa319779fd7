import BullpenDomain
import BullpenStore
import Foundation
import HTTPClient
import Hummingbird
import Providers

/// A client's own doors in the portal beyond its projects: a brief for new work (the `project.brief` command,
/// through the same pipeline as every form), and its plan through Stripe: the Customer Portal for a client
/// that pays through Stripe (a plan change there comes back as Stripe's webhook, which the billing worker
/// applies), Checkout for one with no plan yet. Operators have none of these (404): they plan through the CLI.
struct PortalPages {
    let web: WebRoutes

    func add(to routes: RouteCollection<APIContext>) {
        routes.get("/projects/new") { request, context in
            try await web.signedIn(request, context) { user in
                guard let clientID = user.caller.clientID else { return web.notFound(user) }
                let planned = try await web.read { db in try ProjectStore.currentSubscription(of: clientID, in: db) }
                return web.render("brief", "A new brief", ["hasPlan": planned != nil], user)
            }
        }
        routes.post("/briefs") { request, context in
            // An operator's is refused by the pipeline's issuer check, as the API's would be.
            try await web.submit(request, context) { _, form in (OperatorCommand(try Self.brief(form)), "/") }
        }
        routes.post("/billing/portal") { request, context in
            try await web.checkedForm(request, context) { user, _ in
                guard let clientID = user.caller.clientID else { return web.notFound(user) }
                guard let stripe = web.checkout?.stripe else { return notSetUp(user) }
                guard let customer = try await web.read({ db in try ClientStore.stripeCustomer(of: clientID, on: db) })
                else {
                    return web.message(
                        .conflict, "No plan to change", "You have no plan paid through Stripe yet: choose one first.",
                        user: user)
                }
                let back = web.settings.portalURL + "/"
                return try await redirect(user, context) {
                    try stripe.createPortalSession(customer: customer, returnURL: back)
                }
            }
        }
        routes.post("/billing/checkout") { request, context in
            try await web.checkedForm(request, context) { user, form in
                guard let clientID = user.caller.clientID else { return web.notFound(user) }
                guard let checkout = web.checkout else { return notSetUp(user) }
                guard let plan = form["plan"].flatMap(Plan.init(rawValue:)) else {
                    return web.message(
                        .unprocessableContent, "Choose a plan", "plan: must be one of \(Plan.choices)", user: user)
                }
                guard let email = try await web.read({ db in try ClientStore.email(of: clientID, in: db) }) else {
                    return web.notFound(user)
                }
                let definition = checkout.catalog[plan]
                let request = CheckoutRequest(
                    mode: definition.mode.rawValue, priceID: definition.stripePriceId, email: email,
                    successURL: web.settings.portalURL + "/", cancelURL: web.settings.portalURL + "/",
                    metadata: ["plan": plan.rawValue])
                let key = "bullpen-web-checkout-" + (form["key"].map { String($0.prefix(100)) } ?? UUID().uuidString)
                return try await redirect(user, context) {
                    try checkout.stripe.createCheckoutSession(request, idempotencyKey: key)
                }
            }
        }
    }

    /// The brief a form describes; a date (`YYYY-MM-DD`) as the deadline is the end of that day, UTC.
    static func brief(_ form: [String: String]) throws(ValidationError) -> ProjectBrief {
        func field(_ name: String) -> String? {
            form[name].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        }
        var deadline: Timestamp?
        if let text = field("deadline") {
            guard let day = try? Date.ISO8601FormatStyle().year().month().day().parse(text) else {
                throw ValidationError(field: "deadline", message: "must be a date (2027-01-31)")
            }
            deadline = Timestamp(day.addingTimeInterval(86_399))
        }
        let brief = ProjectBrief(name: field("name") ?? "", brief: field("brief") ?? "", deadline: deadline)
        try brief.validate()
        return brief
    }

    /// Off to the Stripe page a session names; Stripe's refusal or silence shown as such (never the key).
    func redirect(
        _ user: WebUser, _ context: APIContext, _ create: @escaping @Sendable () throws -> CheckoutSession
    ) async throws -> Response {
        do {
            let session = try await Blocking.run { try create() }
            return WebRoutes.redirect(session.url)
        } catch let error as StripeAPIError {
            context.logger.warning("Stripe refused a session for the web", metadata: ["error": "\(error)"])
            return web.message(
                .badGateway, "Stripe did not answer as it should",
                "Your plan could not be opened just now (\(error.message)). Try again in a minute.", user: user)
        }
    }

    func notSetUp(_ user: WebUser) -> Response {
        web.message(
            .serviceUnavailable, "Billing is not set up", "Plan changes are not available here yet; write to us.",
            user: user)
    }
}

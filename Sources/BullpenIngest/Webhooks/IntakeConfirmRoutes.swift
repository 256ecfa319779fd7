import BullpenDomain
import BullpenMessaging
import BullpenStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The confirmation link of a brief that named an active client's address (emailed to that address only):
/// `GET /intake/confirm?lead=&token=` shows a page with one button, and the button's `POST /intake/confirm`
/// (a form: `lead`, `token`) confirms. A GET changes nothing, so a mail scanner that follows links confirms
/// nothing. The token is compared, in constant time, with the SHA-256 the lead keeps; a good one publishes
/// `intake.confirmed` (the command worker opens the project) and answers 200 after the broker's confirm; an
/// unknown, used or expired link is 403 with a page that says so. No token or session is needed: the link
/// is the proof that its holder reads the address's mail.
struct IntakeConfirmRoutes {
    let publisher: ConfirmingPublisher
    let topology: Topology
    let database: DatabasePool

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.get("/intake/confirm") { request, context in
            let query = request.uri.queryParameters
            let (lead, token) = (query["lead"].map(String.init), query["token"].map(String.init))
            guard try await check(lead: lead, token: token) != nil else { return Self.refused() }
            return Self.page(
                .ok, title: "Confirm your brief",
                body: """
                    <p>Confirm that the brief sent through our form naming your address was yours, and it opens as
                    a new project under your plan.</p>
                    <form method="post" action="/intake/confirm">
                    <input type="hidden" name="lead" value="\(HTMLText.escape(lead ?? ""))">
                    <input type="hidden" name="token" value="\(HTMLText.escape(token ?? ""))">
                    <button type="submit">Yes, it was me: open the project</button>
                    </form>
                    <p>If it was not you, close this page: nothing happens.</p>
                    """)
        }
        routes.post("/intake/confirm") { request, context in
            let body = try await RequestBody.read(request, upTo: 4096)
            let form = Self.form(String(decoding: body, as: UTF8.self))
            guard let lead = try await check(lead: form["lead"], token: form["token"]) else { return Self.refused() }
            try await publisher.publishConfirmed(
                IntakeConfirmation(leadId: lead), topology: topology, what: "the confirmation", logger: context.logger)
            return Self.page(
                .ok, title: "Thank you",
                body: "<p>Your brief is confirmed: it opens as a new project, and an email will tell you so.</p>")
        }
        return routes
    }

    /// The lead a link confirms, if the token is the lead's, unused and unexpired.
    func check(lead: String?, token: String?) async throws -> Int64? {
        guard let lead, let id = Int64(lead), id > 0, let token, token.utf8.count == 64 else { return nil }
        let confirmable: LeadStore.Confirmable?
        do { confirmable = try await database.run { db in try LeadStore.confirmable(id, on: db) } } catch {
            throw APIError.database(error)
        }
        guard let confirmable, confirmable.status == LeadStatus.new.rawValue, confirmable.expiresAt > Date() else {
            return nil
        }
        let given = Array(SHA256.hash(data: Array(token.utf8)))
        guard ConstantTime.equal(given, confirmable.tokenHash) else { return nil }
        return id
    }

    static func refused() -> Response {
        page(
            .forbidden, title: "This link does not hold",
            body: "<p>This confirmation link is unknown, was used already, or has expired (it holds 24 hours).</p>")
    }

    /// A small page of our own (no outside resources).
    static func page(_ status: HTTPResponse.Status, title: String, body: String) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>\(title): Bullpen</title></head>
            <body><main><h1>\(title)</h1>\(body)</main></body></html>
            """
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .init("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `application/x-www-form-urlencoded` fields.
    static func form(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Clerk
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Signing in by email, for clients and operators alike: `POST /signin` with an address sends a single-use
/// link (through the notify queue, as every email) when the address is an operator's or a client's contact,
/// and answers the same page whatever the address, so the form tells nobody who is a client. The link opens a
/// page with one button (`GET` changes nothing: a mail scanner that follows links signs nobody in); the
/// button's `POST` uses the link, opens a session and sets its cookie. Sessions are listed and ended at
/// `/sessions`; `POST /signout` ends this one, or every one.
///
/// With a Clerk instance configured, "Sign in with Clerk" goes to its sign-in page, which sends the browser
/// back to `GET /signin/clerk` with Clerk's handshake (or, on a shared parent domain, with its `__session`
/// cookie): the session token's signature and claims are checked, its user mapped to an operator or a client,
/// and a web session opened as a link would, once per token.
struct SignInPages {
    let web: WebRoutes
    var settings: WebSettings { web.settings }

    func add(to routes: RouteCollection<APIContext>) {
        routes.get("/signin") { request, context in
            let next = request.uri.queryParameters["next"].flatMap { WebRoutes.localPath(String($0)) } ?? "/"
            var data: [String: Any] = ["next": next]
            data["clerkURL"] = settings.clerk?.signInLink(next: next, portalURL: settings.portalURL)
            return web.render("signin", "Sign in", data, nil)
        }
        routes.get("/signin/clerk") { request, context in
            guard let clerk = settings.clerk else {
                return web.message(.notFound, "Not here", "Signing in with Clerk is not set up.", user: nil)
            }
            let query = request.uri.queryParameters
            let next = query["next"].flatMap { WebRoutes.localPath(String($0)) } ?? "/"
            let token: String
            let claims: ClerkSessionClaims
            do {
                if let handshake = query["__clerk_handshake"] {
                    token = String(handshake)
                    claims = try await clerk.verifier.verifyHandshake(token)
                } else if let session = WebSession.cookie("__session", in: request) {
                    token = session
                    claims = try await clerk.verifier.verify(session)
                } else {
                    return WebRoutes.redirect(clerk.signInLink(next: next, portalURL: settings.portalURL))
                }
            } catch {
                return refused("the Clerk sign-in does not hold: \((error as? ClerkRejection)?.reason ?? "\(error)")")
            }
            let hash = Array(SHA256.hash(data: Array(token.utf8)))
            let (lifetime, operators) = (settings.sessionLifetime, clerk.operators)
            let use = try await web.read { db in
                try WebSignIn.useClerk(
                    userID: claims.sub, tokenHash: hash, tokenExpires: Date(timeIntervalSince1970: Double(claims.exp)),
                    operators: operators, lifetime: lifetime, on: db)
            }
            return signedIn(use, next: next)
        }
        routes.post("/signin") { request, context in
            let form = try await WebRoutes.form(request)
            let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
            let next = form["next"].flatMap(WebRoutes.localPath) ?? "/"
            guard (3...254).contains(email.utf8.count), email.contains("@"), !email.contains(where: \.isWhitespace)
            else {
                return web.pages.response(
                    "signin",
                    web.page("Sign in", ["next": next, "error": "Enter the email address you use with us."], nil),
                    status: .unprocessableContent)
            }
            try await send(to: email, next: next)
            return web.render("signin-sent", "Check your email", ["email": email], nil)
        }
        routes.get("/signin/confirm") { request, context in
            let query = request.uri.queryParameters
            let token = query["token"].map(String.init) ?? ""
            let next = query["next"].flatMap { WebRoutes.localPath(String($0)) } ?? "/"
            return web.render("signin-confirm", "Sign in", ["token": token, "next": next], nil)
        }
        routes.post("/signin/confirm") { request, context in
            let form = try await WebRoutes.form(request)
            let next = form["next"].flatMap(WebRoutes.localPath) ?? "/"
            guard let token = form["token"], token.utf8.count == 64 else {
                return refused("this sign-in link is unknown")
            }
            let hash = Array(SHA256.hash(data: Array(token.utf8)))
            let lifetime = settings.sessionLifetime
            let use = try await web.read { db in try WebSignIn.use(tokenHash: hash, lifetime: lifetime, on: db) }
            return signedIn(use, next: next)
        }
        routes.post("/signout") { request, context in
            try await web.signedIn(request, context) { user in
                let form = try await WebRoutes.form(request)
                guard WebSession.formTokenHolds(form["csrf"], for: user) else { return WebRoutes.redirect("/") }
                let everywhere = form["everywhere"] == "1"
                let (email, id) = (user.email, user.sessionID)
                try await web.read { db in try WebSignIn.revoke(email: email, id: everywhere ? nil : id, on: db) }
                return WebRoutes.redirect(
                    "/signin", headers: [.setCookie: WebSession.clearCookie(secure: settings.secureCookies)])
            }
        }
        routes.get("/sessions") { request, context in
            try await web.signedIn(request, context) { user in
                let email = user.email
                let sessions = try await web.read { db in try WebSignIn.sessions(email: email, on: db) }
                let now = Date()
                let rows: [[String: Any]] = sessions.map { session in
                    [
                        "id": session.id, "createdAt": Self.time(session.createdAt),
                        "expiresAt": session.expiresAt.map(Self.time) ?? "", "active": session.isActive(at: now),
                        "current": session.id == user.sessionID,
                        "state": session.revokedAt != nil ? "ended" : session.isActive(at: now) ? "active" : "expired",
                    ]
                }
                return web.render("sessions", "Your sessions", ["sessions": rows], user)
            }
        }
        routes.post("/sessions/revoke") { request, context in
            try await web.signedIn(request, context) { user in
                let form = try await WebRoutes.form(request)
                guard WebSession.formTokenHolds(form["csrf"], for: user), let id = form["id"].flatMap({ Int64($0) })
                else { return WebRoutes.redirect("/sessions") }
                let email = user.email
                try await web.read { db in try WebSignIn.revoke(email: email, id: id, on: db) }
                guard id != user.sessionID else {
                    return WebRoutes.redirect(
                        "/signin", headers: [.setCookie: WebSession.clearCookie(secure: settings.secureCookies)])
                }
                return WebRoutes.redirect("/sessions")
            }
        }
    }

    /// A link for the address, when it is someone's: its row, the email and the email's outbox row in one
    /// transaction (the link's token only in the email, dropped from the notification once sent).
    func send(to email: String, next: String) async throws {
        let operators = settings.operators
        let token = Hex.string((0..<32).map { _ in UInt8.random(in: 0...255) })
        let hash = Array(SHA256.hash(data: Array(token.utf8)))
        let expires = Date().addingTimeInterval(settings.linkLifetime)
        let perHour = settings.linksPerHour
        let minutes = String(Int(settings.linkLifetime / 60))
        let path =
            "/signin/confirm?token=\(token)"
            + (next == "/" ? "" : "&next=" + WebSettings.queryValue(next))
        _ = try await web.read { db in
            try db.transaction { tx in
                guard let person = try WebSignIn.person(email: email, operators: operators, on: tx),
                    try WebSignIn.createLink(
                        email: email, person: person, tokenHash: hash, expiresAt: expires, perHour: perHour, in: tx)
                else { return false }
                let ids = try NotificationStore.insert(
                    [
                        .email(
                            .signInLink, cause: UUID().uuidString.lowercased(), to: email, clientID: person.clientID,
                            projectID: nil, data: [NotificationStore.confirmPathKey: path, "minutes": minutes])
                    ], in: tx)
                try Outbox.enqueue(all: ids.map { NotificationMessage(notificationId: $0, priority: 5) }, in: tx)
                return true
            }
        }
    }

    /// The answer to a sign-in: its session's cookie and on to `next`, or why not.
    func signedIn(_ use: WebSignIn.Use, next: String) -> Response {
        switch use {
        case .refused(let reason):
            return refused(reason)
        case .signedIn(_, let secret):
            return WebRoutes.redirect(
                next,
                headers: [
                    .setCookie: WebSession.setCookie(
                        secret, maxAge: settings.sessionLifetime, secure: settings.secureCookies)
                ])
        }
    }

    func refused(_ reason: String) -> Response {
        web.message(
            .forbidden, "This link does not hold", reason.prefix(1).uppercased() + reason.dropFirst() + ".", user: nil)
    }

    static func time(_ date: Date) -> String { WebRoutes.time(ISO8601DateFormatter().string(from: date)) }
}

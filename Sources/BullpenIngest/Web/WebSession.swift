import BullpenDomain
import BullpenStore
import Crypto
import Foundation
import Hummingbird

/// A person signed in to the web: the API caller its session token stands for, whose session it is, and the
/// form token that proves a form came from one of its own pages.
struct WebUser: Sendable {
    let caller: Caller
    let email: String
    let sessionID: Int64
    /// The session's secret (the cookie's value); never shown.
    let secret: String

    var isOperator: Bool { caller.role == .operator }
    var csrf: String { WebSession.csrf(for: secret) }
}

/// The session cookie and the form tokens. The cookie holds a web session's secret (an API token of the
/// person's role, marked as a web session): HttpOnly, SameSite=Lax, Secure behind TLS, a new one at every
/// sign-in. A form carries a token derived from that secret (SHA-256 of it, with a label), so a form posted
/// from another site, or with another session's token, is refused.
enum WebSession {
    static let cookieName = "bullpen_session"

    /// The session secret the request's cookie carries, if any.
    static func secret(in request: Request) -> String? {
        guard let value = cookie(cookieName, in: request), value.hasPrefix("bp_"), value.utf8.count <= 100 else {
            return nil
        }
        return value
    }

    /// A cookie's value, the first of that name (at most 8 KB).
    static func cookie(_ name: String, in request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name, parts[1].utf8.count <= 8192 { return String(parts[1]) }
        }
        return nil
    }

    static func csrf(for secret: String) -> String {
        Hex.string(SHA256.hash(data: Array("bullpen web form:\(secret)".utf8)))
    }

    /// Whether a posted form token is this session's (compared in constant time).
    static func formTokenHolds(_ given: String?, for user: WebUser) -> Bool {
        guard let given else { return false }
        return ConstantTime.equal(Array(given.utf8), Array(user.csrf.utf8))
    }

    static func setCookie(_ secret: String, maxAge: TimeInterval, secure: Bool) -> String {
        "\(cookieName)=\(secret); Path=/; Max-Age=\(Int(maxAge)); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    static func clearCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}

/// Finds the signed-in person of a request: the cookie's secret looked up as the API looks up tokens
/// (batched, cached for the API's token cache lifetime, so a revoked session is refused within it).
struct WebAuthenticator: Sendable {
    let tokens: BatchingLookup<[UInt8], ApiTokens.Token>
    let cache: TokenCache

    func user(of request: Request) async throws -> WebUser? {
        guard let secret = WebSession.secret(in: request) else { return nil }
        let hash = Array(SHA256.hash(data: Array(secret.utf8)))
        let now = ContinuousClock.now
        var token = cache.token(for: hash, now: now)
        if token == nil {
            token = try await tokens.value(for: hash)
            if let token { cache.remember(token, for: hash, now: now) }
        }
        guard let token, token.isActive(at: Date()), let email = token.webEmail, token.role != .producer else {
            return nil
        }
        return WebUser(
            caller: Caller(tokenID: token.id, role: token.role, clientID: token.clientID), email: email,
            sessionID: token.id, secret: secret)
    }
}

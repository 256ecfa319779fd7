import Foundation
import JWTKit

/// The claims of a Clerk session token (Clerk's `__session` cookie, or a token from its Backend API), as
/// Clerk issues them: RS256, signed by the instance's key named by `kid`, about sixty seconds long.
public struct ClerkSessionClaims: JWTPayload, Equatable {
    /// The Clerk user: `user_...`.
    public var sub: String
    /// The Clerk session: `sess_...`.
    public var sid: String?
    /// The instance's Frontend API URL.
    public var iss: String
    /// The origin the token was made for (Clerk's "authorized party"), when the browser gave one.
    public var azp: String?
    public var exp: Int
    public var nbf: Int?
    public var iat: Int?

    public init(sub: String, sid: String?, iss: String, azp: String?, exp: Int, nbf: Int?, iat: Int?) {
        self.sub = sub
        self.sid = sid
        self.iss = iss
        self.azp = azp
        self.exp = exp
        self.nbf = nbf
        self.iat = iat
    }

    /// The signature is checked by jwt-kit; the claims by ``ClerkClaimRules``, with a clock and a leeway.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Why a Clerk token was refused; the reason is safe to show (it never contains the token).
public struct ClerkRejection: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The rules a verified token's claims must meet, apart from the signature: the issuer is the instance's,
/// the authorized party (when the token names one) is one of ours, and the token is inside its lifetime give
/// or take `leeway` seconds for clocks that drift.
public struct ClerkClaimRules: Sendable {
    public var issuer: String
    /// Origins a token may be made for (`https://portal.example.com`); empty accepts any `azp`.
    public var authorizedParties: Set<String>
    public var leeway: TimeInterval

    public init(issuer: String, authorizedParties: Set<String> = [], leeway: TimeInterval = 5) {
        self.issuer = Self.trimmed(issuer)
        self.authorizedParties = Set(authorizedParties.map(Self.trimmed))
        self.leeway = leeway
    }

    public func check(_ claims: ClerkSessionClaims, now: Date) throws(ClerkRejection) {
        guard Self.trimmed(claims.iss) == issuer else {
            throw ClerkRejection("the token was issued by another instance")
        }
        if let azp = claims.azp, !authorizedParties.isEmpty, !authorizedParties.contains(Self.trimmed(azp)) {
            throw ClerkRejection("the token was made for another site")
        }
        let time = now.timeIntervalSince1970
        guard Double(claims.exp) + leeway > time else { throw ClerkRejection("the token has expired") }
        if let nbf = claims.nbf, Double(nbf) - leeway > time { throw ClerkRejection("the token is not valid yet") }
        guard claims.sub.hasPrefix("user_"), claims.sub.utf8.count <= 64 else {
            throw ClerkRejection("the token names no user")
        }
    }

    static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
}

/// Clerk's handshake: after signing in on Clerk's pages, the browser comes back with `__clerk_handshake`, a
/// token signed like a session token whose `handshake` claim lists the cookies to set, `__session` among
/// them. This finds the session token in it (after the handshake's own signature is checked).
public struct ClerkHandshake: JWTPayload {
    public var handshake: [String]

    public init(cookies: [String]) { handshake = cookies }

    public var sessionToken: String? {
        for directive in handshake {
            let pair = directive.split(separator: ";", maxSplits: 1).first ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "__session", !parts[1].isEmpty {
                return String(parts[1])
            }
        }
        return nil
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

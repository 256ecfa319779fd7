import BullpenStore
import Crypto
import Foundation
import Hummingbird
import Synchronization

/// Authenticates the operator API: `Authorization: Bearer <API token>`, looked up by its SHA-256 (batched
/// across concurrent requests, and remembered for a short while: ``TokenCache``). 401 for a missing, unknown,
/// expired or revoked token; 403 for a producer token, which only posts webhooks.
struct TokenAuthentication: RouterMiddleware {
    typealias Context = APIContext
    let tokens: BatchingLookup<[UInt8], ApiTokens.Token>
    let cache: TokenCache

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        let secret = try BearerToken.parse(request.headers[.authorization], naming: "API token")
        let hash = Array(SHA256.hash(data: Array(secret.utf8)))
        let now = ContinuousClock.now
        var token = cache.token(for: hash, now: now)
        if token == nil {
            do {
                token = try await tokens.value(for: hash)
            } catch {
                context.logger.error("API token look-up failed", metadata: ["error": "\(error)"])
                throw APIError.database(error)
            }
            if let token { cache.remember(token, for: hash, now: now) }
        }
        guard let token else {
            throw APIError(.unauthorized, "unknown API token", headers: [.wwwAuthenticate: "Bearer"])
        }
        guard token.isActive(at: Date()) else {
            throw APIError(
                .unauthorized, token.revokedAt != nil ? "this API token was revoked" : "this API token has expired",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        guard token.role != .producer else {
            throw APIError(.forbidden, "a producer token cannot use the operator API")
        }
        var context = context
        context.caller = Caller(tokenID: token.id, role: token.role, clientID: token.clientID)
        return try await next(request, context)
    }
}

/// Tokens found in the database, remembered for `lifetime` so that a client sending many requests costs
/// one look-up per lifetime, not one per request. Expiry is still checked on every request (the row's time is
/// kept); a revocation takes effect within `lifetime`. Only tokens that exist are kept, at most `capacity`
/// (when full, the cache starts over). A lifetime of zero turns it off.
final class TokenCache: Sendable {
    let lifetime: Duration
    let capacity: Int
    private let entries = Mutex<[[UInt8]: Entry]>([:])

    private struct Entry {
        let token: ApiTokens.Token
        let until: ContinuousClock.Instant
    }

    init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func token(for hash: [UInt8], now: ContinuousClock.Instant) -> ApiTokens.Token? {
        guard lifetime > .zero else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[hash] else { return nil }
            guard now < entry.until else {
                entries[hash] = nil
                return nil
            }
            return entry.token
        }
    }

    func remember(_ token: ApiTokens.Token, for hash: [UInt8], now: ContinuousClock.Instant) {
        guard lifetime > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(token: token, until: now + lifetime)
        }
    }
}

/// Reading `Authorization: Bearer <token>`.
enum BearerToken {
    static func parse(_ header: String?, naming what: String) throws -> String {
        guard let header, !header.isEmpty else {
            throw APIError(
                .unauthorized, "missing Authorization: Bearer <\(what)>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty, parts[1].count <= 512 else {
            throw APIError(
                .unauthorized, "the Authorization header must be 'Bearer <\(what)>'",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        return String(parts[1])
    }
}

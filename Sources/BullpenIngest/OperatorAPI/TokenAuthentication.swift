import BullpenStore
import Crypto
import Foundation
import Hummingbird

/// Authenticates the operator API: `Authorization: Bearer <API token>`, looked up by its SHA-256 (batched
/// across concurrent requests). 401 for a missing, unknown, expired or revoked token; 403 for a producer
/// token, which only posts webhooks.
struct TokenAuthentication: RouterMiddleware {
    typealias Context = APIContext
    let tokens: BatchingLookup<[UInt8], ApiTokens.Token>

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        let secret = try BearerToken.parse(request.headers[.authorization], naming: "API token")
        let token: ApiTokens.Token?
        do {
            token = try await tokens.value(for: Array(SHA256.hash(data: Array(secret.utf8))))
        } catch {
            context.logger.error("API token look-up failed", metadata: ["error": "\(error)"])
            throw APIError.database(error)
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

import Foundation
import PostgreSQL

/// Operator, client and producer API tokens. A token is shown once, when it is created; only its SHA-256
/// is stored, so a stolen database does not hand out access.
public enum ApiTokens {
    /// What a token may do.
    public enum Role: String, Sendable, CaseIterable {
        /// Issues commands and reads everything.
        case `operator`
        /// Reads its own client's rows only.
        case client
        /// Posts to Bullpen's own producer webhooks.
        case producer
    }

    /// A token as stored (never with its secret).
    public struct Token: Sendable, Equatable {
        public let id: Int64
        public let name: String
        public let role: Role
        /// The client a client token belongs to.
        public let clientID: Int64?
        public let createdAt: Date
        public let lastUsedAt: Date?
        public let expiresAt: Date?
        public let revokedAt: Date?
        /// Set for a web session: the address that signed in.
        public let webEmail: String?

        /// Neither revoked nor expired at `now`.
        public func isActive(at now: Date) -> Bool {
            revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
        }
    }

    /// Why a token cannot be created.
    public struct RefusedError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Creates a token; returns it with its secret, which is not stored and cannot be shown again.
    public static func create(
        name: String, role: Role, clientID: Int64? = nil, expiresAt: Date? = nil, webEmail: String? = nil,
        on db: PGConnection
    ) throws -> (token: Token, secret: String) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...200).contains(name.count) else {
            throw RefusedError(description: "a token needs a name of 1 to 200 characters")
        }
        guard (role == .client) == (clientID != nil) else {
            throw RefusedError(
                description: role == .client
                    ? "a client token needs --client" : "only a client token belongs to a client")
        }
        if let expiresAt, expiresAt <= Date() { throw RefusedError(description: "the expiry is in the past") }
        let secret = "bp_" + randomHex(bytes: 32)
        do {
            let row = try db.query(
                """
                INSERT INTO api_tokens (name, token_hash, role, client_id, expires_at, web_email)
                VALUES ($1, sha256(convert_to($2, 'UTF8')), $3, $4, $5, $6)
                RETURNING \(columns)
                """, [name, secret, role.rawValue, clientID, expiresAt, webEmail])
            return (try token(row.first!), secret)
        } catch let error as PGError where error.sqlState == "23503" {
            throw RefusedError(description: "there is no client \(clientID.map(String.init) ?? "")")
        }
    }

    /// Every token, newest first.
    public static func list(on db: PGConnection) throws -> [Token] {
        try db.query("SELECT \(columns) FROM api_tokens ORDER BY id DESC").rows.map(token)
    }

    /// The web sessions of an address, newest first, at most `limit`.
    public static func web(email: String, limit: Int, on db: PGConnection) throws -> [Token] {
        try db.query(
            "SELECT \(columns) FROM api_tokens WHERE lower(web_email) = lower($1) ORDER BY id DESC LIMIT $2",
            [email, limit]
        ).rows.map(token)
    }

    /// Revokes a token at once; false when there is no such token or it was revoked already.
    public static func revoke(id: Int64, on db: PGConnection) throws -> Bool {
        try db.query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id])
            .rowsAffected == 1
    }

    /// The token a secret belongs to, active or not; nil for none.
    public static func find(secret: String, on db: PGConnection) throws -> Token? {
        try db.query("SELECT \(columns) FROM api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))", [secret])
            .first.map(token)
    }

    /// The tokens of many SHA-256 hashes in one query (keyed by hash), active or not.
    public static func find(hashes: [[UInt8]], on db: PGConnection) throws -> [[UInt8]: Token] {
        db.prepare(
            "tokens.find", "SELECT token_hash, \(columns) FROM api_tokens WHERE token_hash = ANY($1::bytea[])")
        var found: [[UInt8]: Token] = [:]
        for row in try db.executePrepared("tokens.find", [PGArray(hashes.map { PGBytes($0).pgText })]).rows {
            found[try row.decode("token_hash", as: PGBytes.self).bytes] = try token(row)
        }
        return found
    }

    private static let columns =
        "id, name, role, client_id, created_at, last_used_at, expires_at, revoked_at, web_email"

    private static func token(_ row: PGRow) throws -> Token {
        let roleText: String = try row.decode("role")
        guard let role = Role(rawValue: roleText) else { throw PGError(.decoding, "unknown token role \(roleText)") }
        return Token(
            id: try row.decode("id"), name: try row.decode("name"), role: role,
            clientID: try row.decode("client_id", as: Int64?.self), createdAt: try row.decode("created_at"),
            lastUsedAt: try row.decode("last_used_at", as: Date?.self),
            expiresAt: try row.decode("expires_at", as: Date?.self),
            revokedAt: try row.decode("revoked_at", as: Date?.self),
            webEmail: try row.decode("web_email", as: String?.self))
    }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}

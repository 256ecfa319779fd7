import BullpenDomain
import Foundation
import PostgreSQL

/// Signing in to the web: single-use links by email, and the sessions they open. A session is an API token
/// (``ApiTokens``) of the person's role, marked with the address that signed in; its secret is the cookie.
public enum WebSignIn {
    /// Who may sign in with an address.
    public enum Person: Sendable, Equatable {
        case `operator`
        case client(Int64)

        public var role: ApiTokens.Role { self == .operator ? .operator : .client }
        public var clientID: Int64? {
            if case .client(let id) = self { return id }
            return nil
        }
    }

    /// The person an address belongs to: an operator when the operators' list names it, otherwise the client
    /// whose contact it is (any case); nil for anyone else.
    public static func person(email: String, operators: Set<String>, on db: PGConnection) throws -> Person? {
        if operators.contains(email.lowercased()) { return .operator }
        let row = try db.query(
            "SELECT id FROM clients WHERE lower(email) = lower($1) AND status <> 'churned' ORDER BY id LIMIT 1", [email]
        ).first
        return try row.map { .client(try $0.decode("id")) }
    }

    /// Records a link for `email` in the caller's transaction: only the token's SHA-256 is kept. At most
    /// `perHour` links an hour an address, so the form cannot be used to flood someone's inbox; false when
    /// that many were made already.
    public static func createLink(
        email: String, person: Person, tokenHash: [UInt8], expiresAt: Date, perHour: Int, in tx: PGConnection
    ) throws -> Bool {
        try tx.query("SELECT pg_advisory_xact_lock(hashtextextended('bullpen.signin.' || lower($1), 0))", [email])
        let recent: Int = try tx.query(
            """
            SELECT count(*)::int FROM sign_in_links
             WHERE lower(email) = lower($1) AND via = 'email' AND created_at > now() - interval '1 hour'
            """,
            [email]
        ).first!.decode(at: 0)
        guard recent < perHour else { return false }
        try tx.query(
            "INSERT INTO sign_in_links (token_hash, email, role, client_id, expires_at) VALUES ($1, $2, $3, $4, $5)",
            [PGBytes(tokenHash), email, person.role.rawValue, person.clientID, expiresAt])
        return true
    }

    /// What using a link found.
    public enum Use: Sendable, Equatable {
        /// The session it opened: the token and its secret (the cookie's value).
        case signedIn(ApiTokens.Token, secret: String)
        /// No such link, used already, or past its time.
        case refused(String)
    }

    /// Uses a link once: marks it used and opens a session of `lifetime` for its person, in one transaction; a
    /// second use, or a use after it expired, is refused.
    public static func use(
        tokenHash: [UInt8], lifetime: TimeInterval, now: Date = Date(), on db: PGConnection
    ) throws
        -> Use
    {
        try db.transaction { tx in
            guard
                let link = try tx.query(
                    "SELECT id, email, role, client_id, expires_at, used_at FROM sign_in_links WHERE token_hash = $1 FOR UPDATE",
                    [PGBytes(tokenHash)]
                ).first
            else { return .refused("this sign-in link is unknown") }
            guard try link.decode("used_at", as: Date?.self) == nil else {
                return .refused("this sign-in link was used already; ask for a new one")
            }
            guard try link.decode("expires_at", as: Date.self) > now else {
                return .refused("this sign-in link has expired; ask for a new one")
            }
            let email: String = try link.decode("email")
            let role = ApiTokens.Role(rawValue: try link.decode("role")) ?? .client
            let (token, secret) = try ApiTokens.create(
                name: "web session: \(email)", role: role, clientID: try link.decode("client_id", as: Int64?.self),
                expiresAt: now.addingTimeInterval(lifetime), webEmail: email, on: tx)
            try tx.query(
                "UPDATE sign_in_links SET used_at = $2, session_token_id = $3 WHERE id = $1",
                [try link.decode("id", as: Int64.self), now, token.id])
            return .signedIn(token, secret: secret)
        }
    }

    /// Who a Clerk user is here: an operator when the operators' Clerk users name it (its sessions listed under
    /// the user id), otherwise the client whose `clerk_user_id` it is (under the client's address, beside the
    /// sessions its emailed links opened); nil for anyone else.
    public static func person(
        clerkUserID: String, operators: Set<String>, on db: PGConnection
    ) throws
        -> (person: Person, name: String)?
    {
        if operators.contains(clerkUserID) { return (.operator, clerkUserID) }
        let row = try db.query(
            "SELECT id, email FROM clients WHERE clerk_user_id = $1 AND status <> 'churned'", [clerkUserID]
        ).first
        return try row.map { (.client(try $0.decode("id")), try $0.decode("email")) }
    }

    /// Opens a session for a Clerk user whose session token was verified, once per token: the token's SHA-256
    /// is recorded as a used sign-in, so the same token (a handshake URL copied from a history, say) opens
    /// nothing a second time.
    public static func useClerk(
        userID: String, tokenHash: [UInt8], tokenExpires: Date, operators: Set<String>, lifetime: TimeInterval,
        now: Date = Date(), on db: PGConnection
    ) throws -> Use {
        try db.transaction { tx in
            guard let (person, name) = try person(clerkUserID: userID, operators: operators, on: tx) else {
                return .refused("this Clerk account is not an operator's or a client's here")
            }
            let inserted = try tx.query(
                """
                INSERT INTO sign_in_links (token_hash, email, role, client_id, expires_at, via)
                VALUES ($1, $2, $3, $4, $5, 'clerk') ON CONFLICT (token_hash) DO NOTHING RETURNING id
                """, [PGBytes(tokenHash), name, person.role.rawValue, person.clientID, tokenExpires]
            ).first
            guard let inserted else { return .refused("this Clerk sign-in was used already; sign in again") }
            let (token, secret) = try ApiTokens.create(
                name: "web session: \(name) (Clerk)", role: person.role, clientID: person.clientID,
                expiresAt: now.addingTimeInterval(lifetime), webEmail: name, on: tx)
            try tx.query(
                "UPDATE sign_in_links SET used_at = $2, session_token_id = $3 WHERE id = $1",
                [try inserted.decode("id", as: Int64.self), now, token.id])
            return .signedIn(token, secret: secret)
        }
    }

    /// A person's web sessions, newest first: every one signed in with the address, revoked and expired ones
    /// included (the last ten).
    public static func sessions(email: String, on db: PGConnection) throws -> [ApiTokens.Token] {
        try ApiTokens.web(email: email, limit: 10, on: db)
    }

    /// Ends sessions of `email` now: the one (`id`), or every one (nil). Returns how many ended.
    @discardableResult
    public static func revoke(email: String, id: Int64? = nil, on db: PGConnection) throws -> Int {
        try db.query(
            """
            UPDATE api_tokens SET revoked_at = now()
             WHERE lower(web_email) = lower($1) AND revoked_at IS NULL AND ($2::bigint IS NULL OR id = $2)
            """, [email, id]
        ).rowsAffected
    }
}

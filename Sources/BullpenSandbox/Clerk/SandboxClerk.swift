import Clerk
import CryptoExtras
import Foundation
import HTTPClient
import Hummingbird
import JWTKit
import Logging
import Providers
import Synchronization

/// `bullpen sandbox clerk`: a stand-in for a Clerk instance, enough of it for Bullpen's sign-in:
/// - the Frontend API's keys, `GET /.well-known/jwks.json` (RS256, one key, named by `kid`);
/// - the Backend API's users and sessions, with a `Bearer sk_...` secret key: `POST /v1/users
///   {email_address: [...]}`, `POST /v1/sessions {user_id}`, `POST /v1/sessions/<id>/tokens` (a session
///   token, `{object: "token", jwt}`), `POST /v1/sessions/<id>/revoke`;
/// - the Account Portal's sign-in, `GET /sign-in?redirect_url=...`: a form for an email; a known user is
///   signed in and sent back to `redirect_url` with `__clerk_handshake`, a token whose `handshake` claim lists
///   the `__session` cookie, as Clerk's handshake does;
/// - `POST /sandbox/rotate-keys`: a new signing key replaces the old one (its tokens stop verifying), as a
///   Clerk key rotation does.
/// Session tokens live `tokenLifetime` (Clerk's sixty seconds by default) and carry `iss` (this stand-in's
/// URL), `sub`, `sid`, `azp` (the origin signed in from), `iat`, `nbf` and `exp`.
public final class SandboxClerk: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The issuer the tokens name: this stand-in's URL as the browser and ingest reach it.
        public var issuer: String
        /// The Backend API's secret key (`sk_test_...`).
        public var secretKey: String
        public var tokenLifetime: TimeInterval

        public init(
            host: String = "127.0.0.1", port: Int = 18791, issuer: String? = nil, secretKey: String = "sk_test_sandbox",
            tokenLifetime: TimeInterval = 60
        ) {
            self.host = host
            self.port = port
            self.issuer = issuer ?? "http://\(host):\(port)"
            self.secretKey = secretKey
            self.tokenLifetime = tokenLifetime
        }
    }

    public struct User: Codable, Sendable, Equatable {
        public var id: String
        public var email: String
    }

    public struct Session: Codable, Sendable, Equatable {
        public var id: String
        public var userID: String
        public var revoked: Bool
    }

    /// What the stand-in holds, for `GET /sandbox/state`.
    public struct Snapshot: Codable, Sendable, Equatable {
        public var kid: String
        public var users: [User] = []
        public var sessions: [Session] = []
        public var tokensIssued = 0
    }

    struct SigningKey: Sendable {
        let kid: String
        let key: JWTKit.Insecure.RSA.PrivateKey
        let keys: JWTKeyCollection
    }

    public let configuration: Configuration
    let logger: Logger
    private let state: Mutex<(key: SigningKey, snapshot: Snapshot)>

    /// With a new 2048-bit signing key, or `key` (tests share one: making one is a quarter of a second).
    public init(
        configuration: Configuration = .init(), logger: Logger, key: JWTKit.Insecure.RSA.PrivateKey? = nil
    )
        throws
    {
        self.configuration = configuration
        self.logger = logger
        let key = try Self.newKey(key)
        state = Mutex((key, Snapshot(kid: key.kid)))
    }

    static func newKey(_ given: JWTKit.Insecure.RSA.PrivateKey? = nil) throws -> SigningKey {
        let key = try given ?? JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let kid = "ins_" + Self.randomID(20)
        let keys = JWTKeyCollection()
        return SigningKey(kid: kid, key: key, keys: keys)
    }

    static func randomID(_ length: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijkmnopqrstuvwxyz")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// The instance's published keys.
    func jwks() throws -> [String: [[String: String]]] {
        let key = state.withLock { $0.key }
        let (modulus, exponent) = try key.key.publicKey.getKeyPrimitives()
        return [
            "keys": [
                [
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid, "n": Self.base64URL(modulus),
                    "e": Self.base64URL(exponent),
                ]
            ]
        ]
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public func rotateKeys() throws {
        let key = try Self.newKey()
        state.withLock {
            $0.key = key
            $0.snapshot.kid = key.kid
        }
    }

    /// The user with the address, made now (with `id`, or a new one) when there is none.
    public func createUser(email: String, id: String? = nil) -> User {
        state.withLock { state in
            if let user = state.snapshot.users.first(where: { $0.email.lowercased() == email.lowercased() }) {
                return user
            }
            let user = User(id: id ?? "user_" + Self.randomID(27), email: email)
            state.snapshot.users.append(user)
            return user
        }
    }

    func createSession(userID: String) -> Session? {
        state.withLock { state in
            guard state.snapshot.users.contains(where: { $0.id == userID }) else { return nil }
            let session = Session(id: "sess_" + Self.randomID(27), userID: userID, revoked: false)
            state.snapshot.sessions.append(session)
            return session
        }
    }

    /// A session token for an active session, signed with the current key.
    public func token(sessionID: String, azp: String? = nil, now: Date = Date()) async throws -> String? {
        let found = state.withLock { state -> (Session, SigningKey)? in
            guard let session = state.snapshot.sessions.first(where: { $0.id == sessionID && !$0.revoked }) else {
                return nil
            }
            state.snapshot.tokensIssued += 1
            return (session, state.key)
        }
        guard let (session, key) = found else { return nil }
        let time = Int(now.timeIntervalSince1970)
        let claims = ClerkSessionClaims(
            sub: session.userID, sid: session.id, iss: configuration.issuer, azp: azp,
            exp: time + Int(configuration.tokenLifetime), nbf: time - 10, iat: time)
        return try await sign(claims, with: key)
    }

    func sign(_ payload: some JWTPayload, with key: SigningKey) async throws -> String {
        await key.keys.add(rsa: key.key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
        return try await key.keys.sign(payload, kid: JWKIdentifier(string: key.kid))
    }

    /// The handshake a browser brings back after signing in: the `__session` cookie, signed.
    func handshake(sessionToken: String) async throws -> String {
        let key = state.withLock { $0.key }
        return try await sign(
            ClerkHandshake(cookies: ["__session=\(sessionToken); Path=/; SameSite=Lax"]), with: key)
    }

    // MARK: the application

    public func application() -> some ApplicationProtocol {
        let router = Router()
        router.get("/sandbox/state") { _, _ in try JSONResponse(self.snapshot) }
        router.post("/sandbox/rotate-keys") { _, _ in
            try self.rotateKeys()
            return try JSONResponse(["kid": self.snapshot.kid])
        }
        router.get("/.well-known/jwks.json") { _, _ in try JSONResponse(try self.jwks()) }
        router.post("/v1/users") { request, context in
            guard self.authorized(request) else {
                return Self.error(401, "authentication_invalid", "Invalid secret key")
            }
            struct Body: Decodable {
                let emailAddress: [String]
                enum CodingKeys: String, CodingKey { case emailAddress = "email_address" }
            }
            guard let body = try? await request.decode(as: Body.self, context: context),
                let email = body.emailAddress.first, email.contains("@")
            else { return Self.error(422, "form_param_missing", "email_address must be given") }
            let user = self.createUser(email: email)
            return Self.json([
                "object": "user", "id": user.id,
                "email_addresses": [["object": "email_address", "email_address": user.email]],
            ])
        }
        router.post("/v1/sessions") { request, context in
            guard self.authorized(request) else {
                return Self.error(401, "authentication_invalid", "Invalid secret key")
            }
            struct Body: Decodable {
                let userID: String
                enum CodingKeys: String, CodingKey { case userID = "user_id" }
            }
            guard let body = try? await request.decode(as: Body.self, context: context),
                let session = self.createSession(userID: body.userID)
            else { return Self.error(404, "resource_not_found", "No user was found with that id") }
            return Self.json(["object": "session", "id": session.id, "user_id": session.userID, "status": "active"])
        }
        router.post("/v1/sessions/:id/tokens") { request, context in
            guard self.authorized(request) else {
                return Self.error(401, "authentication_invalid", "Invalid secret key")
            }
            guard let id = context.parameters.get("id"), let jwt = try await self.token(sessionID: id) else {
                return Self.error(404, "resource_not_found", "No active session was found with that id")
            }
            return Self.json(["object": "token", "jwt": jwt])
        }
        router.post("/v1/sessions/:id/revoke") { request, context in
            guard self.authorized(request) else {
                return Self.error(401, "authentication_invalid", "Invalid secret key")
            }
            let id = context.parameters.get("id") ?? ""
            let revoked = self.state.withLock { state -> Session? in
                guard let index = state.snapshot.sessions.firstIndex(where: { $0.id == id }) else { return nil }
                state.snapshot.sessions[index].revoked = true
                return state.snapshot.sessions[index]
            }
            guard let revoked else { return Self.error(404, "resource_not_found", "No session was found with that id") }
            return Self.json(["object": "session", "id": revoked.id, "user_id": revoked.userID, "status": "revoked"])
        }
        router.get("/sign-in") { request, _ in
            Self.signInPage(redirect: request.uri.queryParameters.get("redirect_url") ?? "", error: nil)
        }
        router.post("/sign-in") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 14)
            let form = Dictionary(FormEncoding.decode(String(buffer: body))) { _, last in last }
            let redirect = form["redirect_url"] ?? ""
            guard let target = URLComponents(string: redirect), let origin = webOrigin(of: redirect) else {
                return Self.signInPage(redirect: redirect, error: "This sign-in has no page to go back to.")
            }
            let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
            guard let user = self.snapshot.users.first(where: { $0.email.lowercased() == email.lowercased() }),
                let session = self.createSession(userID: user.id)
            else { return Self.signInPage(redirect: redirect, error: "Couldn't find your account.") }
            guard let token = try await self.token(sessionID: session.id, azp: origin) else {
                return Self.signInPage(redirect: redirect, error: "The session ended.")
            }
            var back = target
            back.queryItems =
                (target.queryItems ?? []) + [
                    URLQueryItem(name: "__clerk_handshake", value: try await self.handshake(sessionToken: token))
                ]
            return Response(status: .seeOther, headers: [.location: back.string ?? redirect])
        }
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "clerk-sandbox"),
            logger: logger)
    }

    func authorized(_ request: Request) -> Bool {
        request.headers[.authorization] == "Bearer \(configuration.secretKey)"
    }

    static func signInPage(redirect: String, error: String?) -> Response {
        let escape = SandboxPage.escape
        return SandboxPage.response(
            error == nil ? 200 : 422, service: "Clerk", title: "Sign in",
            body: """
                <p>The Clerk stand-in: an account's email signs it in.</p>
                \(error.map { "<p role=\"alert\">\(escape($0))</p>" } ?? "")
                <form method="post" action="/sign-in"><input type="hidden" name="redirect_url" value="\(escape(redirect))">
                <label for="identifier">Email address</label> <input id="identifier" name="email" type="email" required>
                <button type="submit">Continue</button></form>
                """)
    }

    static func json(_ value: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    /// Clerk's error body: `{"errors": [{code, message, long_message}]}`.
    static func error(_ status: Int, _ code: String, _ message: String) -> Response {
        let body: [String: Any] = ["errors": [["code": code, "message": message, "long_message": message]]]
        var response = json(body)
        response.status = .init(code: status)
        return response
    }
}

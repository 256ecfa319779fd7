import Foundation
import HTTPClient
import JWTKit

/// Checks Clerk session tokens against the instance's published keys (its JWKS, `<issuer>/.well-known/jwks.json`),
/// networkless once the keys are known: a token is checked with the key its header names (`kid`), RS256 only.
/// A `kid` not yet known fetches the keys again (Clerk rotates them), at most once every `refetchInterval`, so
/// a stream of forged `kid`s cannot make every request a fetch.
public actor ClerkVerifier {
    public typealias FetchKeys = @Sendable () async throws -> String

    public let rules: ClerkClaimRules
    let fetchKeys: FetchKeys
    let refetchInterval: Duration
    private var keys: JWTKeyCollection?
    private var fetchedAt: ContinuousClock.Instant?

    public init(rules: ClerkClaimRules, refetchInterval: Duration = .seconds(30), fetchKeys: @escaping FetchKeys) {
        self.rules = rules
        self.refetchInterval = refetchInterval
        self.fetchKeys = fetchKeys
    }

    /// Fetches the JWKS from the issuer with libcurl (5 s to answer).
    public init(rules: ClerkClaimRules, refetchInterval: Duration = .seconds(30)) {
        let url = rules.issuer + "/.well-known/jwks.json"
        self.init(rules: rules, refetchInterval: refetchInterval) {
            let response = try await Blocking.run {
                try CurlClient.perform(HTTPClientRequest(url: url, timeout: .seconds(5), connectTimeout: .seconds(3)))
            }
            guard response.status == 200 else {
                throw ClerkRejection("the instance's keys answered \(response.status)")
            }
            return String(decoding: response.body, as: UTF8.self)
        }
    }

    /// The claims of a session token whose signature and claims hold, or why not.
    public func verify(_ token: String, now: Date = Date()) async throws(ClerkRejection) -> ClerkSessionClaims {
        let claims = try await verified(token, as: ClerkSessionClaims.self)
        try rules.check(claims, now: now)
        return claims
    }

    /// The session token a handshake carries, checked as ``verify(_:now:)`` does.
    public func verifyHandshake(
        _ handshake: String, now: Date = Date()
    ) async throws(ClerkRejection)
        -> ClerkSessionClaims
    {
        let payload = try await verified(handshake, as: ClerkHandshake.self)
        guard let session = payload.sessionToken else { throw ClerkRejection("the handshake carries no session") }
        return try await verify(session, now: now)
    }

    private func verified<Payload: JWTPayload>(
        _ token: String, as type: Payload.Type
    ) async throws(ClerkRejection)
        -> Payload
    {
        guard token.utf8.count <= 8192, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 else {
            throw ClerkRejection("the token is not a JWT")
        }
        var refetched = false
        while true {
            let collection = try await collection(refresh: refetched)
            do {
                return try await collection.verify(token, as: Payload.self)
            } catch let error as JWTError where Self.unknownKey.contains(error.errorType) && !refetched {
                guard mayRefetch else { throw ClerkRejection("the token was signed by an unknown key") }
                refetched = true
            } catch let error as JWTError where Self.unknownKey.contains(error.errorType) {
                throw ClerkRejection("the token was signed by an unknown key")
            } catch {
                throw ClerkRejection("the token's signature does not hold")
            }
        }
    }

    /// What jwt-kit says of a `kid` it has no key for: with no default key (see ``collection(refresh:)``) a
    /// token naming an unknown key, or none, finds no key at all.
    static let unknownKey: Set<JWTError.ErrorType> = [.unknownKID, .noKeyProvided, .missingKIDHeader]

    private var mayRefetch: Bool {
        guard let fetchedAt else { return true }
        return ContinuousClock.now - fetchedAt >= refetchInterval
    }

    private func collection(refresh: Bool) async throws(ClerkRejection) -> JWTKeyCollection {
        if let keys, !refresh { return keys }
        let json: String
        do { json = try await fetchKeys() } catch let error as ClerkRejection { throw error } catch {
            throw ClerkRejection("the instance's keys could not be fetched")
        }
        let collection = JWTKeyCollection()
        do {
            let jwks = try JSONDecoder().decode(JWKS.self, from: Data(json.utf8))
            for key in jwks.keys where key.keyType == .rsa && (key.algorithm == nil || key.algorithm == .rs256) {
                var key = key
                key.algorithm = .rs256
                // No default key: jwt-kit checks a token whose `kid` it does not know with the default key, and
                // Clerk's tokens always name theirs.
                _ = try await collection.add(jwk: key, isDefault: false)
            }
        } catch {
            throw ClerkRejection("the instance's keys are not a JWKS of RSA keys")
        }
        keys = collection
        fetchedAt = .now
        return collection
    }
}

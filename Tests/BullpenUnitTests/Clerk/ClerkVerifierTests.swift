import Clerk
import CryptoExtras
import Foundation
import JWTKit
import Logging
import Synchronization
import Testing

@testable import BullpenSandbox

/// Clerk session tokens as the sandbox's stand-in mints them, checked by the verifier that ingest uses, with
/// the keys handed over in-process (no network): the signature by the key the token names, the issuer, the
/// authorized party, the lifetime with its leeway, key rotation, and forged tokens.
@Suite("Clerk session tokens")
struct ClerkVerifierTests {
    /// One key for every test's stand-in (the rotation tests make their second).
    static let key = try! JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    let clerk = try! SandboxClerk(
        configuration: .init(port: 18791, issuer: "https://clerk.agency.test", tokenLifetime: 60),
        logger: Logger(label: "test"), key: key)
    let fetches = Fetches()

    final class Fetches: Sendable {
        let count = Mutex(0)
        func withLock<T>(_ body: (inout Int) -> T) -> T { count.withLock { body(&$0) } }
    }

    func verifier(
        issuer: String = "https://clerk.agency.test", parties: Set<String> = ["https://portal.agency.test"],
        refetch: Duration = .zero
    ) -> ClerkVerifier {
        ClerkVerifier(
            rules: ClerkClaimRules(issuer: issuer, authorizedParties: parties, leeway: 5), refetchInterval: refetch
        ) { [clerk, fetches] in
            fetches.withLock { $0 += 1 }
            return String(decoding: try JSONEncoder().encode(try clerk.jwks()), as: UTF8.self)
        }
    }

    func token(azp: String? = "https://portal.agency.test", at now: Date = Date()) async throws -> (String, String) {
        let user = clerk.createUser(email: "ada@acme.test")
        let session = try #require(clerk.createSession(userID: user.id))
        return (try #require(try await clerk.token(sessionID: session.id, azp: azp, now: now)), user.id)
    }

    /// Why the work was refused (nil: it was not), any error other than a rejection shown as itself.
    func refusal(_ work: () async throws -> Void) async -> String? {
        do { try await work() } catch { return (error as? ClerkRejection)?.reason ?? "\(error)" }
        return nil
    }

    @Test func aTokenOfTheInstanceHolds() async throws {
        let (jwt, user) = try await token()
        let claims = try await verifier().verify(jwt)
        #expect(claims.sub == user)
        #expect(claims.sid?.hasPrefix("sess_") == true)
        #expect(claims.iss == "https://clerk.agency.test")
    }

    @Test func theLifetimeHoldsWithItsLeewayOnly() async throws {
        let now = Date()
        let (jwt, _) = try await token(at: now)
        let verifier = verifier()
        _ = try await verifier.verify(jwt, now: now.addingTimeInterval(63))
        #expect(
            await refusal { _ = try await verifier.verify(jwt, now: now.addingTimeInterval(66)) }
                == "the token has expired")
        _ = try await verifier.verify(jwt, now: now.addingTimeInterval(-14))
        #expect(
            await refusal { _ = try await verifier.verify(jwt, now: now.addingTimeInterval(-16)) }
                == "the token is not valid yet")
    }

    @Test func anotherIssuerOrSiteIsRefused() async throws {
        let (jwt, _) = try await token()
        #expect(
            await refusal { _ = try await verifier(issuer: "https://other.clerk.test").verify(jwt) }
                == "the token was issued by another instance")
        #expect(
            await refusal { _ = try await verifier(parties: ["https://evil.test"]).verify(jwt) }
                == "the token was made for another site")
        // No azp in the token (a Backend API token): the party check has nothing to refuse.
        let (bare, _) = try await token(azp: nil)
        _ = try await verifier(parties: ["https://evil.test"]).verify(bare)
    }

    @Test func aRotatedKeyIsFetchedByItsKid() async throws {
        let verifier = verifier()
        let (old, _) = try await token()
        _ = try await verifier.verify(old)
        try clerk.rotateKeys()
        let (new, _) = try await token()
        _ = try await verifier.verify(new)
        #expect(fetches.withLock { $0 } == 2)
        #expect(await refusal { _ = try await verifier.verify(old) } == "the token was signed by an unknown key")
    }

    @Test func unknownKidsDoNotFetchMoreThanOnceAnInterval() async throws {
        let verifier = verifier(refetch: .seconds(30))
        let (first, _) = try await token()
        _ = try await verifier.verify(first)
        try clerk.rotateKeys()
        let (next, _) = try await token()
        for _ in 0..<5 {
            #expect(await refusal { _ = try await verifier.verify(next) } == "the token was signed by an unknown key")
        }
        #expect(fetches.withLock { $0 } == 1)
    }

    @Test func forgedTokensAreRefused() async throws {
        let (jwt, _) = try await token()
        let parts = jwt.split(separator: ".").map(String.init)
        // Another user in the payload, the signature kept.
        var payload = try #require(Data(base64URL: parts[1]))
        payload = Data(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "user_", with: "user_X").utf8)
        let tampered = [parts[0], payload.base64URL, parts[2]].joined(separator: ".")
        #expect(await refusal { _ = try await verifier().verify(tampered) } == "the token's signature does not hold")
        // "alg": "none", no signature.
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URL
        #expect(await refusal { _ = try await verifier().verify("\(header).\(parts[1]).") } != nil)
        // HS256 keyed with the public key's JWKS text (the algorithm-confusion attack).
        let hs = Data(#"{"alg":"HS256","typ":"JWT","kid":"\#(clerk.snapshot.kid)"}"#.utf8).base64URL
        #expect(await refusal { _ = try await verifier().verify("\(hs).\(parts[1]).\(parts[2])") } != nil)
        #expect(await refusal { _ = try await verifier().verify("not a token") } == "the token is not a JWT")
    }

    @Test func theHandshakeCarriesTheSessionToken() async throws {
        let (jwt, user) = try await token()
        let handshake = try await clerk.handshake(sessionToken: jwt)
        #expect(try await verifier().verifyHandshake(handshake).sub == user)
        // A handshake is checked as a token is: one signed by someone else does not hold.
        let parts = handshake.split(separator: ".").map(String.init)
        let other = try await token().0.split(separator: ".").map(String.init)
        #expect(
            await refusal {
                _ = try await verifier().verifyHandshake([parts[0], parts[1], other[2]].joined(separator: "."))
            }
                == "the token's signature does not hold")
        #expect(
            ClerkHandshake(cookies: ["__client_uat=1; Path=/", "__session=abc.def.ghi; Path=/; SameSite=Lax"])
                .sessionToken == "abc.def.ghi")
        #expect(ClerkHandshake(cookies: ["__session=; Path=/"]).sessionToken == nil)
    }
}

extension Data {
    init?(base64URL text: String) {
        var text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        self.init(base64Encoded: text)
    }

    var base64URL: String { SandboxClerk.base64URL(self) }
}

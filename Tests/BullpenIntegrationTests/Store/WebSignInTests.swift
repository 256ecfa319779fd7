import BullpenStore
import Crypto
import Foundation
import PostgreSQL
import Testing

/// Who a Clerk user signs in as, and that one Clerk token opens one session.
@Suite("Web sign-in with Clerk")
final class WebSignInTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("websignin") }
    deinit { database.drop() }

    var db: PGConnection { database.db }

    func use(_ user: String, token: String, operators: Set<String> = ["user_ops"]) throws -> WebSignIn.Use {
        try WebSignIn.useClerk(
            userID: user, tokenHash: Array(SHA256.hash(data: Array(token.utf8))),
            tokenExpires: Date().addingTimeInterval(60), operators: operators, lifetime: 3600, on: db)
    }

    @Test("an operator's Clerk user opens an operator session, a client's its client's, anyone else nothing")
    func people() throws {
        let client: Int64 = try #require(
            try db.query(
                "INSERT INTO clients (name, email, clerk_user_id) VALUES ('Acme', 'ops@acme.test', 'user_acme') RETURNING id"
            ).first
        ).decode("id")
        guard case .signedIn(let ops, _) = try use("user_ops", token: "t1") else {
            Issue.record("no operator")
            return
        }
        #expect(ops.role == .operator && ops.clientID == nil && ops.webEmail == "user_ops")
        guard case .signedIn(let acme, let secret) = try use("user_acme", token: "t2") else {
            Issue.record("no client session")
            return
        }
        #expect(acme.role == .client && acme.clientID == client && acme.webEmail == "ops@acme.test")
        #expect(try ApiTokens.find(secret: secret, on: db)?.id == acme.id)
        #expect(
            try use("user_stranger", token: "t3")
                == .refused("this Clerk account is not an operator's or a client's here"))
        try db.query("UPDATE clients SET status = 'churned' WHERE id = $1", [client])
        #expect(
            try use("user_acme", token: "t4") == .refused("this Clerk account is not an operator's or a client's here"))
    }

    @Test("one token opens one session; Clerk sign-ins do not count against the emailed links' hourly limit")
    func once() throws {
        guard case .signedIn = try use("user_ops", token: "same") else {
            Issue.record("not signed in")
            return
        }
        #expect(try use("user_ops", token: "same") == .refused("this Clerk sign-in was used already; sign in again"))
        for n in 0..<6 { _ = try use("user_ops", token: "more-\(n)") }
        let allowed = try db.transaction { tx in
            try WebSignIn.createLink(
                email: "user_ops", person: .operator, tokenHash: Array(SHA256.hash(data: Array("link".utf8))),
                expiresAt: Date().addingTimeInterval(600), perHour: 5, in: tx)
        }
        #expect(allowed)
    }
}

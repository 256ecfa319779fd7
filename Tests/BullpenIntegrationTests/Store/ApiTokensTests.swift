import BullpenStore
import Crypto
import Foundation
import PostgreSQL
import Testing

@Suite("API tokens")
final class ApiTokensTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("tokens") }
    deinit { database.drop() }

    var db: PGConnection { database.db }

    @Test("a token is shown once and stored only as its SHA-256; it is found by its secret")
    func create() throws {
        let (token, secret) = try ApiTokens.create(name: "ops laptop", role: .operator, on: db)
        #expect(secret.hasPrefix("bp_") && secret.count == 67)
        #expect(token.role == .operator && token.clientID == nil && token.isActive(at: Date()))
        let stored: PGBytes = try #require(
            try db.query("SELECT token_hash FROM api_tokens WHERE id = $1", [token.id]).first
        ).decode("token_hash")
        #expect(stored.bytes == Array(SHA256.hash(data: Array(secret.utf8))))
        #expect(try ApiTokens.find(secret: secret, on: db) == token)
        #expect(try ApiTokens.find(secret: secret + "x", on: db) == nil)
        let (_, other) = try ApiTokens.create(name: "ci", role: .operator, on: db)
        #expect(other != secret)
        #expect(try ApiTokens.list(on: db).map(\.name) == ["ci", "ops laptop"])
    }

    @Test("a client token needs an existing client, and only a client token has one")
    func clientTokens() throws {
        #expect(throws: ApiTokens.RefusedError.self) { try ApiTokens.create(name: "c", role: .client, on: db) }
        #expect(throws: ApiTokens.RefusedError.self) {
            try ApiTokens.create(name: "o", role: .operator, clientID: 1, on: db)
        }
        let missing = #expect(throws: ApiTokens.RefusedError.self) {
            try ApiTokens.create(name: "c", role: .client, clientID: 424_242, on: db)
        }
        #expect(missing?.description == "there is no client 424242")
        let client: Int64 = try #require(
            try db.query("INSERT INTO clients (name, email) VALUES ('Acme', 'ops@acme.test') RETURNING id").first
        ).decode("id")
        let (token, _) = try ApiTokens.create(name: "acme portal", role: .client, clientID: client, on: db)
        #expect(token.clientID == client)
    }

    @Test("revoked and expired tokens are inactive; revoking twice says so")
    func revokeAndExpire() throws {
        let (token, secret) = try ApiTokens.create(
            name: "temp", role: .producer, expiresAt: Date().addingTimeInterval(3600), on: db)
        #expect(try ApiTokens.revoke(id: token.id, on: db))
        #expect(try ApiTokens.revoke(id: token.id, on: db) == false)
        #expect(try ApiTokens.find(secret: secret, on: db)?.isActive(at: Date()) == false)

        let (later, laterSecret) = try ApiTokens.create(
            name: "later", role: .operator, expiresAt: Date().addingTimeInterval(3600), on: db)
        #expect(try ApiTokens.find(secret: laterSecret, on: db)?.isActive(at: Date()) == true)
        #expect(later.isActive(at: Date().addingTimeInterval(7200)) == false)
        #expect(throws: ApiTokens.RefusedError.self) {
            try ApiTokens.create(name: "past", role: .operator, expiresAt: Date().addingTimeInterval(-1), on: db)
        }
    }
}

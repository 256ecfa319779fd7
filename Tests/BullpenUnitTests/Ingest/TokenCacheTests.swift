import Foundation
import Testing

@testable import BullpenIngest
@testable import BullpenStore

@Suite("API token cache")
struct TokenCacheTests {
    let start = ContinuousClock.now
    let token = ApiTokens.Token(
        id: 7, name: "ops", role: .operator, clientID: nil, createdAt: Date(), lastUsedAt: nil, expiresAt: nil,
        revokedAt: nil, webEmail: nil)
    let hash: [UInt8] = [1, 2, 3]

    @Test("a token found is trusted for the lifetime, then looked up again")
    func lifetime() {
        let cache = TokenCache(lifetime: .seconds(1))
        #expect(cache.token(for: hash, now: start) == nil)
        cache.remember(token, for: hash, now: start)
        #expect(cache.token(for: hash, now: start + .milliseconds(999)) == token)
        #expect(cache.token(for: [9], now: start) == nil)
        #expect(cache.token(for: hash, now: start + .seconds(1)) == nil)
    }

    @Test("a lifetime of zero keeps nothing; a full cache starts over")
    func limits() {
        let off = TokenCache(lifetime: .zero)
        off.remember(token, for: hash, now: start)
        #expect(off.token(for: hash, now: start) == nil)

        let small = TokenCache(lifetime: .seconds(5), capacity: 2)
        small.remember(token, for: [1], now: start)
        small.remember(token, for: [2], now: start)
        small.remember(token, for: [3], now: start)
        #expect(small.token(for: [1], now: start) == nil)
        #expect(small.token(for: [3], now: start) == token)
    }
}

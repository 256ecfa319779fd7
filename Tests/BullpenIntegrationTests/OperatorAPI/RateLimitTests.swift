import BullpenIngest
import BullpenStore
import HTTPTypes
import Testing

@Suite("Operator API: rate limit")
final class RateLimitTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("rate", rateLimit: RateLimitSettings(perSecond: 0.1, burst: 3)) }
    deinit { fixture.tearDown() }

    @Test("past its burst a token gets 429 with Retry-After; another token is not held back")
    func limit() async throws {
        let other = try ApiTokens.create(name: "other", role: .operator, on: fixture.stack.db).secret
        try await fixture.run { api in
            for _ in 0..<3 { #expect(try await api.get("/v1/clients").status == .ok) }
            let limited = try await api.get("/v1/clients")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.code == "rate_limited")
            // One token every 10 s: the wait is whole seconds, at least 1, at most 10.
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...10).contains(retryAfter))
            #expect(try await api.with(token: other).get("/v1/clients").status == .ok)
        }
    }
}

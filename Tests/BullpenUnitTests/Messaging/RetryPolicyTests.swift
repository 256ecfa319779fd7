import BullpenMessaging
import Testing

@Suite("Retry decisions")
struct RetryPolicyTests {
    let policy = RetryPolicy(delaysSeconds: [5, 30, 300, 1800], maxAttempts: 5)

    @Test("attempt n goes to tier n and comes back as attempt n+1")
    func tiers() {
        #expect(policy.decide(failedAttempt: 1, reason: "x") == .retry(tier: 1, delaySeconds: 5, nextAttempt: 2))
        #expect(policy.decide(failedAttempt: 2, reason: "x") == .retry(tier: 2, delaySeconds: 30, nextAttempt: 3))
        #expect(policy.decide(failedAttempt: 4, reason: "x") == .retry(tier: 4, delaySeconds: 1800, nextAttempt: 5))
    }

    @Test("the last attempt is parked with the reason")
    func giveUp() {
        #expect(
            policy.decide(failedAttempt: 5, reason: "gateway down")
                == .park(reason: "gave up after 5 attempts: gateway down"))
        #expect(policy.decide(failedAttempt: 9, reason: "x") == .park(reason: "gave up after 9 attempts: x"))
    }

    @Test("more attempts than tiers reuse the last tier")
    func capped() {
        let short = RetryPolicy(delaysSeconds: [1, 2], maxAttempts: 4)
        #expect(short.decide(failedAttempt: 3, reason: "x") == .retry(tier: 2, delaySeconds: 2, nextAttempt: 4))
    }

    @Test("no tiers or a single attempt parks at once")
    func none() {
        #expect(
            RetryPolicy(delaysSeconds: [], maxAttempts: 3).decide(failedAttempt: 1, reason: "x")
                == .park(reason: "gave up after 1 attempt: x"))
        #expect(
            RetryPolicy(delaysSeconds: [1], maxAttempts: 1).decide(failedAttempt: 1, reason: "x")
                == .park(reason: "gave up after 1 attempt: x"))
    }

    @Test("a Retry-After longer than the attempt's tier takes the first tier at least that long, or the last")
    func notBefore() {
        let policy = RetryPolicy(delaysSeconds: [5, 30, 300, 1800], maxAttempts: 5)
        #expect(
            policy.decide(failedAttempt: 1, reason: "x", notBeforeSeconds: 3)
                == .retry(tier: 1, delaySeconds: 5, nextAttempt: 2))
        #expect(
            policy.decide(failedAttempt: 1, reason: "x", notBeforeSeconds: 31)
                == .retry(tier: 3, delaySeconds: 300, nextAttempt: 2))
        #expect(
            policy.decide(failedAttempt: 3, reason: "x", notBeforeSeconds: 10)
                == .retry(tier: 3, delaySeconds: 300, nextAttempt: 4), "never earlier than the attempt's own tier")
        #expect(
            policy.decide(failedAttempt: 1, reason: "x", notBeforeSeconds: 7200)
                == .retry(tier: 4, delaySeconds: 1800, nextAttempt: 2))
        #expect(
            policy.decide(failedAttempt: 5, reason: "x", notBeforeSeconds: 1)
                == .park(reason: "gave up after 5 attempts: x"))
    }
}

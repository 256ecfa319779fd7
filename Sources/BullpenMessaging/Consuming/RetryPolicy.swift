/// What to do with a message whose handler asked to retry later: the rule, with no I/O.
///
/// Attempt n (1-based) that fails goes to delay tier n (capped at the last tier) and comes back as
/// attempt n+1; attempt `maxAttempts` that fails is parked. With tiers [5 s, 30 s] and 3 attempts:
/// attempt 1 fails -> wait 5 s; attempt 2 fails -> wait 30 s; attempt 3 fails -> parked.
public struct RetryPolicy: Sendable, Equatable {
    public let delaysSeconds: [Int]
    public let maxAttempts: Int

    public init(delaysSeconds: [Int], maxAttempts: Int) {
        self.delaysSeconds = delaysSeconds
        self.maxAttempts = maxAttempts
    }

    public init(_ spec: QueueSpec) {
        self.init(delaysSeconds: spec.retryDelaysSeconds, maxAttempts: spec.maxAttempts)
    }

    public enum Decision: Sendable, Equatable {
        /// Publish to delay tier `tier` (1-based) with the attempt header set to `nextAttempt`.
        case retry(tier: Int, delaySeconds: Int, nextAttempt: Int)
        /// No attempts left (or no tiers): park with this reason.
        case park(reason: String)
    }

    /// `notBeforeSeconds`: the wait the other side asked for (a `Retry-After`): the first tier at least that
    /// long is taken when it is later than the attempt's own (the last tier when none is that long).
    public func decide(failedAttempt attempt: Int, reason: String, notBeforeSeconds: Int = 0) -> Decision {
        let attempt = max(1, attempt)
        guard attempt < maxAttempts, !delaysSeconds.isEmpty else {
            return .park(reason: "gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(reason)")
        }
        var tier = min(attempt, delaysSeconds.count)
        if delaysSeconds[tier - 1] < notBeforeSeconds {
            tier = (delaysSeconds.firstIndex { $0 >= notBeforeSeconds } ?? delaysSeconds.count - 1) + 1
        }
        return .retry(tier: tier, delaySeconds: delaysSeconds[tier - 1], nextAttempt: attempt + 1)
    }
}

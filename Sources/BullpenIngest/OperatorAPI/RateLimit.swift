import Foundation
import Hummingbird
import Synchronization

/// A token bucket: `burst` requests at once, refilled at `perSecond`. The rule, with no clock of its own
/// and no I/O: the caller passes the time.
struct TokenBucket: Sendable, Equatable {
    let perSecond: Double
    let burst: Double
    private(set) var tokens: Double
    private(set) var updated: ContinuousClock.Instant

    init(perSecond: Double, burst: Int, now: ContinuousClock.Instant) {
        self.perSecond = perSecond
        self.burst = Double(burst)
        tokens = Double(burst)
        updated = now
    }

    /// Takes one token: nil when the request may go, or how long until a token is there.
    mutating func take(now: ContinuousClock.Instant) -> Duration? {
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + max(0, seconds) * perSecond)
        updated = now
        guard tokens < 1 else {
            tokens -= 1
            return nil
        }
        return .milliseconds(Int64(((1 - tokens) / perSecond * 1000).rounded(.up)))
    }
}

/// A token bucket per key (an API token, an email address), in this process: `take` answers the whole seconds
/// to wait (at least 1), or nil when the request may go.
final class KeyedBuckets<Key: Hashable & Sendable>: Sendable {
    static var capacity: Int { 100_000 }
    private let buckets = Mutex<[Key: TokenBucket]>([:])

    func take(_ key: Key, perSecond: Double, burst: Int) -> Int? {
        let now = ContinuousClock.now
        let wait = buckets.withLock { buckets -> Duration? in
            // Bounded: past `capacity` keys (senders, say) the buckets start over rather than grow without end.
            if buckets.count >= Self.capacity && buckets[key] == nil { buckets.removeAll(keepingCapacity: true) }
            var bucket = buckets[key] ?? TokenBucket(perSecond: perSecond, burst: burst, now: now)
            let wait = bucket.take(now: now)
            buckets[key] = bucket
            return wait
        }
        return wait.map {
            max(1, Int((Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18).rounded(.up)))
        }
    }
}

/// Per-token rate limit on the operator API: 429 with `Retry-After` (whole seconds, at least 1) when a token's
/// bucket is empty. Buckets live in this process (each ingest limits on its own).
struct RateLimit: RouterMiddleware {
    typealias Context = APIContext
    let settings: RateLimitSettings
    private let buckets = KeyedBuckets<Int64>()

    init(_ settings: RateLimitSettings) { self.settings = settings }

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    ) async throws -> Response {
        guard settings.perSecond > 0, let caller = context.caller else { return try await next(request, context) }
        if let seconds = buckets.take(caller.tokenID, perSecond: settings.perSecond, burst: settings.burst) {
            throw APIError(
                .tooManyRequests,
                "this token sent more than \(settings.burst) requests at once or \(settings.perSecond) a second; retry in \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        }
        return try await next(request, context)
    }
}

/// How many requests a second, with what burst, each API token may send. `perSecond` 0 turns it off.
public struct RateLimitSettings: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double = 50, burst: Int = 100) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

import Testing

@testable import BullpenIngest

@Suite("Rate limit")
struct TokenBucketTests {
    let start = ContinuousClock.now

    @Test("a burst goes through at once, the next request waits for the refill, and time refills the bucket")
    func bucket() {
        var bucket = TokenBucket(perSecond: 10, burst: 3, now: start)
        for _ in 0..<3 { #expect(bucket.take(now: start) == nil) }
        #expect(bucket.take(now: start) == .milliseconds(100))
        #expect(bucket.take(now: start + .milliseconds(50)) == .milliseconds(50))
        #expect(bucket.take(now: start + .milliseconds(100)) == nil)
        // A long pause refills to the burst, not beyond it.
        let later = start + .seconds(60)
        for _ in 0..<3 { #expect(bucket.take(now: later) == nil) }
        #expect(bucket.take(now: later) != nil)
    }
}

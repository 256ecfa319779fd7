import Testing

@testable import BullpenMessaging

@Suite("Publish retries")
struct PublishRetryTests {
    let start = ContinuousClock.now
    let lost = PublishError(kind: .unavailable, message: "the connection broke")

    @Test("a publish lost with its connection is tried again after growing pauses, until the window closes")
    func lostConnection() {
        var retry = PublishRetry(window: .milliseconds(1000), startedAt: start)
        #expect(retry.pause(after: lost, now: start) == .milliseconds(50))
        #expect(retry.pause(after: lost, now: start + .milliseconds(60)) == .milliseconds(100))
        #expect(retry.pause(after: lost, now: start + .milliseconds(170)) == .milliseconds(200))
        #expect(retry.pause(after: lost, now: start + .milliseconds(380)) == .milliseconds(400))
        // The next pause (500 ms, the cap) would end past the window: the caller gets the error now.
        #expect(retry.pause(after: lost, now: start + .milliseconds(790)) == nil)
    }

    @Test("a nacked publish is tried again; an unroutable one never (the topology stays missing)")
    func kinds() {
        var retry = PublishRetry(window: .seconds(5), startedAt: start)
        #expect(retry.pause(after: PublishError(kind: .rejected, message: "nack"), now: start) != nil)
        #expect(retry.pause(after: PublishError(kind: .unroutable, message: "no queue"), now: start) == nil)
    }

    @Test("no window, no second try")
    func noWindow() {
        var retry = PublishRetry(window: .zero, startedAt: start)
        #expect(retry.pause(after: lost, now: start) == nil)
    }
}

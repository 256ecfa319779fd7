/// When a publish that failed is tried again: the rules of ``ConfirmingPublisher/publish(_:retryingFor:)``.
///
/// A publish lost with its connection (a broker node stopping, a connection cut, a confirm overdue) or nacked
/// is tried again after a short pause, on the connection the publisher opens to the next node, for as long as
/// the window lasts; an unroutable one is not (the topology is missing, and stays missing). Publishing twice is
/// safe: a message id makes a second copy harmless. With the broker away for good, the caller still gets its
/// answer within the window.
public struct PublishRetry: Sendable {
    private let deadline: ContinuousClock.Instant
    private var backoff: Backoff

    public init(window: Duration, startedAt: ContinuousClock.Instant) {
        deadline = startedAt + window
        backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(500))
    }

    /// The pause before the next try, or nil when `error` is final or the window would close before it.
    public mutating func pause(after error: PublishError, now: ContinuousClock.Instant) -> Duration? {
        guard error.kind != .unroutable else { return nil }
        let pause = backoff.next()
        return now + pause < deadline ? pause : nil
    }
}

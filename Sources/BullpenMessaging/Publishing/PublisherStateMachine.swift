import AMQP

/// The decisions of the ``ConfirmingPublisher``'s I/O thread: when to connect, when to fail callers fast,
/// when to publish, when to read confirms and when to stop, and which caller each broker answer settles.
/// Events in, actions out; it does no I/O, so every rule is tested without a broker.
///
/// The thread asks ``next(now:requestsWaiting:stopping:)`` what to do, does it, and reports back what
/// happened (`connected`, `published`, `received`, `connectionLost` ...).
struct PublisherStateMachine<Waiter> {
    /// What the I/O thread does next.
    enum Action: Equatable {
        /// Open a connection and a confirming channel; report ``connected()`` or ``connectFailed(now:)``.
        case connect
        /// There is no connection: fail every waiting request at once (callers answer 503 and retry).
        case failWaiting
        /// Nothing to do until then.
        case sleep(Duration)
        /// Publish every waiting request, reporting each with ``published(messageID:waiter:)``.
        case publish
        /// Read one frame from the broker, waiting for one only when `wait` is set.
        case read(wait: Bool)
        /// The oldest confirm is overdue: drop the connection (``connectionLost(_:now:)``) and start again.
        case abandonConnection(reason: String)
        /// Stopping, and nothing is owed to any caller: close and return.
        case finish
    }

    private enum State {
        case disconnected(retryAt: ContinuousClock.Instant)
        /// `draining`: a publish went out, so read what the broker sent before publishing more.
        case connected(draining: Bool)
    }

    /// A published request and when it was sent, for the confirm deadline.
    private struct Published {
        let waiter: Waiter
        let at: ContinuousClock.Instant
    }

    private var state: State
    /// The live connection's confirms. Kept outside `state` so that it is mutated in place: a tracker in an
    /// enum payload would be copied on every publish and every ack.
    private var tracker = ConfirmTracker<Published>()
    private var backoff: Backoff
    /// Longest wait for a confirm before the connection is judged broken.
    let confirmTimeout: Duration
    /// Longest sleep while disconnected, so that waiting requests are failed promptly.
    static var idleSleep: Duration { .milliseconds(50) }

    init(
        now: ContinuousClock.Instant, confirmTimeout: Duration,
        backoff: Backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2))
    ) {
        state = .disconnected(retryAt: now)
        self.confirmTimeout = confirmTimeout
        self.backoff = backoff
    }

    var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    /// Messages published and not yet answered by the broker.
    var outstandingCount: Int { tracker.outstandingCount }

    mutating func next(now: ContinuousClock.Instant, requestsWaiting: Bool, stopping: Bool) -> Action {
        switch state {
        case .disconnected(let retryAt):
            if stopping { return .finish }
            if now >= retryAt { return .connect }
            if requestsWaiting { return .failWaiting }
            return .sleep(min(retryAt - now, Self.idleSleep))
        case .connected(let draining):
            if let oldest = tracker.oldestToken, now - oldest.at > confirmTimeout {
                return .abandonConnection(reason: "no confirm within \(confirmTimeout)")
            }
            // After a publish, read what the broker has sent before publishing more: confirms settle callers.
            if draining { return .read(wait: !requestsWaiting) }
            if requestsWaiting { return .publish }
            if stopping && tracker.outstandingCount == 0 { return .finish }
            state = .connected(draining: true)
            return .read(wait: true)
        }
    }

    mutating func connected() {
        backoff.reset()
        tracker = ConfirmTracker()
        state = .connected(draining: false)
    }

    mutating func connectFailed(now: ContinuousClock.Instant) {
        state = .disconnected(retryAt: now + backoff.next())
    }

    /// A request went out on the channel.
    mutating func published(messageID: String?, waiter: Waiter, now: ContinuousClock.Instant) {
        guard case .connected = state else { preconditionFailure("published while disconnected") }
        _ = tracker.published(messageID: messageID, token: Published(waiter: waiter, at: now))
        state = .connected(draining: true)
    }

    /// What the broker sent; returns the callers it settles, each with its result.
    mutating func received(_ event: AMQPEvent?) -> [(Waiter, Result<Void, PublishError>)] {
        guard case .connected = state else { return [] }
        guard let event else {
            state = .connected(draining: false)
            return []
        }
        let settled = tracker.apply(event)
        state = .connected(draining: true)
        return settled.map { ($0.0.waiter, Self.result($0.1)) }
    }

    /// The connection is gone (an I/O error, the broker closed the channel, or an overdue confirm): every
    /// caller still waiting is told the broker is unavailable, and the next connect is tried at once.
    mutating func connectionLost(
        _ reason: String, now: ContinuousClock.Instant
    ) -> [(Waiter, Result<Void, PublishError>)] {
        let error = PublishError(kind: .unavailable, message: reason)
        let failed = tracker.failAll().map { ($0.0.waiter, Result<Void, PublishError>.failure(error)) }
        state = .disconnected(retryAt: now)
        return failed
    }

    private static func result(_ outcome: ConfirmTracker<Published>.Outcome) -> Result<Void, PublishError> {
        switch outcome {
        case .acked:
            return .success(())
        case .nacked:
            return .failure(PublishError(kind: .rejected, message: "the broker nacked the message"))
        case .returned(let code, let text):
            return .failure(PublishError(kind: .unroutable, message: "no queue took the message (\(code) \(text))"))
        case .failed:
            return .failure(PublishError(kind: .unavailable, message: "the connection broke before the confirm"))
        }
    }
}

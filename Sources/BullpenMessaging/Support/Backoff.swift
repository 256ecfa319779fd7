/// Exponential backoff with a cap, for reconnect loops: 100 ms, 200 ms ... up to `maximum`.
public struct Backoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var current: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    /// The next delay to wait; grows each time.
    public mutating func next() -> Duration {
        let delay = current
        current = min(current * 2, maximum)
        return delay
    }

    public mutating func reset() {
        current = initial
    }
}

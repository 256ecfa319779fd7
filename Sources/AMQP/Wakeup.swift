import CAMQP

/// Wakes a thread that is waiting in ``AMQPConnection/nextEvent(timeout:wakeup:)`` (an eventfd).
/// Any thread may signal it; only the waiting thread drains it.
public final class Wakeup: Sendable {
    let descriptor: Int32

    public init() {
        descriptor = bp_eventfd_create()
    }

    deinit {
        bp_eventfd_close(descriptor)
    }

    /// Makes the next (or current) wait return at once.
    public func signal() {
        bp_eventfd_signal(descriptor)
    }

    func drain() {
        bp_eventfd_drain(descriptor)
    }
}

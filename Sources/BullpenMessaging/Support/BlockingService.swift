import Foundation
import ServiceLifecycle

/// A stop request that blocking loops check between steps and sleep on, so that a stop never waits out a
/// whole sleep.
public final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var requested = false

    public init() {}

    /// Asks the loop to stop; wakes it if it sleeps.
    public func request() {
        condition.lock()
        requested = true
        condition.broadcast()
        condition.unlock()
    }

    public var isRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return requested
    }

    /// Sleeps up to `duration`; returns early, with true, as soon as a stop is requested.
    @discardableResult
    public func sleep(for duration: Duration) -> Bool {
        // The end by the monotonic clock: a condition's wait takes a wall-clock date and may wake a little early
        // (a test saw 99.6 ms of a 100 ms sleep), so it waits again for what is left.
        let end = ContinuousClock.now + duration
        condition.lock()
        defer { condition.unlock() }
        while !requested {
            let left = end - ContinuousClock.now
            guard left > .zero else { break }
            condition.wait(
                until: Date().addingTimeInterval(
                    Double(left.components.seconds)
                        + Double(left.components.attoseconds) / 1e18))
        }
        return requested
    }
}

/// A loop of blocking calls (libpq, rabbitmq-c) on a thread of its own, run as a `Service`: graceful
/// shutdown or cancellation of the service group requests the stop, and `run()` returns once the loop has.
/// The outbox relay, the scheduler, the token look-ups and the publisher are each one of these.
///
/// ```swift
/// let relay = BlockingService(name: "bullpen-outbox-relay") { stop in
///     while !stop.isRequested { ... stop.sleep(for: .milliseconds(500)) }
/// }
/// let group = ServiceGroup(services: [relay], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
public struct BlockingService: Service {
    /// The thread's name (shown by debuggers and `top -H`).
    public let name: String
    /// Requested on graceful shutdown or cancellation; may also be requested directly.
    public let stop: StopSignal
    private let loop: @Sendable (StopSignal) -> Void

    public init(name: String, stop: StopSignal = StopSignal(), loop: @escaping @Sendable (StopSignal) -> Void) {
        self.name = name
        self.stop = stop
        self.loop = loop
    }

    public func run() async {
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread { [loop, stop] in
                    loop(stop)
                    done.resume()
                }
                thread.name = name
                thread.start()
            }
        } onCancelOrGracefulShutdown: { [stop] in
            stop.request()
        }
    }
}

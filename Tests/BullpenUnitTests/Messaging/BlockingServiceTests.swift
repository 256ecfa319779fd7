import BullpenMessaging
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Blocking service")
struct BlockingServiceTests {
    @Test("a stop request wakes a sleeping loop at once")
    func stopWakesSleep() async {
        let stop = StopSignal()
        let started = ContinuousClock.now
        async let slept = Task.detached { stop.sleep(for: .seconds(30)) }.value
        try? await Task.sleep(for: .milliseconds(50))
        stop.request()
        #expect(await slept == true)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(stop.sleep(for: .seconds(30)), "a requested stop makes every later sleep return at once")
    }

    @Test("a sleep with no stop request lasts its duration and says so")
    func sleepTimesOut() {
        let started = ContinuousClock.now
        #expect(StopSignal().sleep(for: .milliseconds(100)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test("graceful shutdown of the service group stops the loop, and run returns after it")
    func gracefulShutdown() async throws {
        let iterations = Counter()
        let service = BlockingService(name: "test-loop") { stop in
            while !stop.isRequested {
                iterations.increment()
                stop.sleep(for: .milliseconds(10))
            }
            iterations.finish()
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while iterations.value < 3 { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(iterations.finished)
    }
}

/// Counts loop iterations across threads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var done = false
    func increment() { lock.withLock { count += 1 } }
    func finish() { lock.withLock { done = true } }
    var value: Int { lock.withLock { count } }
    var finished: Bool { lock.withLock { done } }
}

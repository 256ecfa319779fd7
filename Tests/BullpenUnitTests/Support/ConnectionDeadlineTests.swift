import ConnectionDeadline
import Dispatch
import Synchronization
import Testing

@Suite("Connection deadline")
struct ConnectionDeadlineTests {
    struct Expired: Error {}

    /// Stands for a connect into a partition: it never gets ready, and ignores cancellation for `hang` (its
    /// wait is a timer, as a socket's is, holding none of the concurrency pool's threads).
    static func stuck(for hang: Duration) async throws -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(hang.components.seconds * 1000))) {
                continuation.resume()
            }
        }
        return "late"
    }

    @Test("an attempt not ready by the limit is answered then, expired, without waiting for it to give up")
    func expires() async throws {
        let started = ContinuousClock.now
        await #expect(throws: Expired.self) {
            try await withConnectionDeadline(
                .milliseconds(200), ready: { false }, expired: { Expired() },
                connection: { try await Self.stuck(for: .seconds(3)) })
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(200) && waited < .seconds(2), "\(waited)")
    }

    @Test("an attempt ready by the limit runs on past it, and its result is the answer")
    func readyRunsOn() async throws {
        let ready = Mutex(false)
        let answer = try await withConnectionDeadline(
            .milliseconds(100), ready: { ready.withLock { $0 } }, expired: { Expired() },
            connection: {
                ready.withLock { $0 = true }
                try await Task.sleep(for: .milliseconds(300))
                return "done"
            })
        #expect(answer == "done")
    }

    @Test("cancelling the caller answers at once with CancellationError")
    func cancelled() async throws {
        let started = ContinuousClock.now
        let caller = Task {
            try await withConnectionDeadline(
                .seconds(10), ready: { false }, expired: { Expired() },
                connection: { try await Self.stuck(for: .seconds(3)) })
        }
        try await Task.sleep(for: .milliseconds(100))
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}

import Synchronization

/// An answer within a time, whatever the work under it does: ``run(within:_:)`` returns the work's result if it
/// comes in time, and otherwise throws ``Expired`` at the deadline, leaving the work to finish on its own (its
/// result is dropped). For callers that must answer someone (ingest's 2xx or 503) while the work may be stuck
/// behind a socket that no longer answers.
public enum Deadline {
    public struct Expired: Error, CustomStringConvertible, Sendable {
        public let limit: Duration
        public var description: String { "no answer within \(limit)" }
    }

    public static func run<Value: Sendable>(
        within limit: Duration, _ work: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let answer: @Sendable (Result<Value, any Error>) -> Void = { result in
                if once.first() { continuation.resume(with: result) }
            }
            let timer = Task {
                try await Task.sleep(for: limit)
                answer(.failure(Expired(limit: limit)))
            }
            // The work goes on past the deadline; its answer is then dropped.
            Task {
                do { answer(.success(try await work())) } catch { answer(.failure(error)) }
                timer.cancel()
            }
        }
    }
}

/// True the first time it is asked, false after.
private final class Once: Sendable {
    private let asked = Mutex(false)

    func first() -> Bool {
        asked.withLock { asked in
            defer { asked = true }
            return !asked
        }
    }
}

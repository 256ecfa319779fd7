import Synchronization

/// Runs `connection` (a connect, its handshake and then the connection's whole life) in a task of its own and
/// answers with its result, unless it is not `ready()` once `limit` has passed: it is then cancelled but not
/// waited for (a connect into a partition can ignore cancellation for minutes), and the answer is `expired()`.
/// Cancelling the caller cancels the connection and answers at once. The OpenClaw and Discord clients give
/// each connection attempt their handshake timeout this way.
public func withConnectionDeadline<T: Sendable>(
    _ limit: Duration, ready: @escaping @Sendable () -> Bool, expired: @escaping @Sendable () -> any Error,
    connection: @escaping @Sendable () async throws -> T
) async throws -> T {
    let work = Task { try await connection() }
    let once = ResumeOnce<T>()
    let deadline = Task {
        try await Task.sleep(for: limit)
        guard !ready() else { return }
        work.cancel()
        once.resume(.failure(expired()))
    }
    defer { deadline.cancel() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            Task { once.resume(await work.result) }
        }
    } onCancel: {
        work.cancel()
        once.resume(.failure(CancellationError()))
    }
}

/// Resumes a continuation once, whichever racer comes first (a result may come before the continuation is
/// set: it is kept until then).
private final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
    }
    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            guard !state.done else { return nil }
            if let early = state.early {
                state.done = true
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(_ result: Result<T, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = result }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}

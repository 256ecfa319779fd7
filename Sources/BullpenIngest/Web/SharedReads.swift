import Foundation
import Synchronization

/// Reads every operator sees the same (the command center's figures, the review queue), made at most once
/// per `lifetime` per process and shared by every page that asks meanwhile, the first caller's read awaited
/// by the others (fifty consoles open cost one query a second, not fifty). What changes meanwhile reaches the
/// pages through their event stream, which asks again after the lifetime.
final class SharedReads: Sendable {
    private struct Entry {
        let made: ContinuousClock.Instant
        let read: Task<any Sendable, any Error>
    }

    let lifetime: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: Duration = .seconds(1)) { self.lifetime = lifetime }

    func value<Value: Sendable>(
        _ key: String, _ read: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let now = ContinuousClock.now
        let task = entries.withLock { entries -> Task<any Sendable, any Error> in
            if let entry = entries[key], now - entry.made < lifetime { return entry.read }
            let task = Task<any Sendable, any Error> { try await read() }
            entries[key] = Entry(made: now, read: task)
            return task
        }
        do {
            guard let value = try await task.value as? Value else { preconditionFailure("\(key) read another type") }
            return value
        } catch {
            // A failed read is not shared beyond the callers already waiting on it.
            entries.withLock { entries in
                if let entry = entries[key], entry.made == now { entries[key] = nil }
            }
            throw error
        }
    }
}

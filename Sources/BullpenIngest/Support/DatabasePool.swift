import Logging
import PostgreSQL
import ServiceLifecycle

/// A few database connections for queries that are not batched (the read API): each call runs its closure on
/// one of them, off the event loops, and fails at once when the database is unavailable.
public final class DatabasePool: Service, Sendable {
    private struct Job: Sendable {
        let body: @Sendable (PGConnection) throws -> Void
        let failed: @Sendable (any Error) -> Void
    }

    private let threads: DatabaseThreads<Job>

    public init(name: String, configuration: PostgresConfiguration, connections: Int, logger: Logger) {
        threads = DatabaseThreads(
            name: name, configuration: configuration, threads: connections, maxBatch: 1, logger: logger,
            setUp: { db in
                // Reads are short and planned per call: JIT compilation (triggered by the row estimates of a
                // nested aggregate) cost 130 ms a query, and a generic plan cannot use the index behind an
                // optional filter (`$5 IS NULL OR project_id = $5`).
                try db.execute("SET jit = off")
                try db.execute("SET plan_cache_mode = force_custom_plan")
            },
            work: { jobs, db in for job in jobs { try job.body(db) } },
            failure: { jobs, error in for job in jobs { job.failed(error) } })
    }

    /// Runs `body` on a pooled connection.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            threads.submit(
                Job(
                    body: { db in continuation.resume(returning: try body(db)) },
                    failed: { continuation.resume(throwing: $0) }))
        }
    }

    public func run() async { await threads.run() }
}

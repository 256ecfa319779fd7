import Foundation
import Logging
import PostgreSQL

/// A few PostgreSQL connections, each on its own thread, for async callers (the ingest's request handlers):
/// libpq blocks, so its calls must stay off Swift concurrency's small thread pool.
///
/// Connections open lazily and reopen after a failure; a job that meets a broken connection fails with the
/// error (the caller answers 503) and the next job gets a fresh session.
public final class PostgresPool: @unchecked Sendable {
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let jobs = BlockingQueue<@Sendable (PGConnection?) -> Void>()
    private let lock = NSLock()
    private var stopping = false
    private let group = DispatchGroup()

    public init(configuration: PostgresConfiguration, size: Int = 4, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        for index in 0..<max(1, size) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                serve()
            }
            thread.name = "bullpen-pg-\(index)"
            thread.start()
        }
    }

    /// Runs `body` with a connection on one of the pool's threads.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            jobs.put { db in
                guard let db else {
                    continuation.resume(throwing: PGError(.connectFailed, "no database connection"))
                    return
                }
                continuation.resume(with: Result { try body(db) })
            }
        }
    }

    /// Stops the threads once the queued jobs are done.
    public func shutdown() {
        lock.withLock { stopping = true }
        group.wait()
    }

    private func serve() {
        var db: PGConnection?
        while true {
            guard let job = jobs.take(timeout: .milliseconds(200)) else {
                if lock.withLock({ stopping }) { break }
                continue
            }
            if db == nil || db?.isHealthy == false {
                do {
                    db = try PGConnection(configuration)
                } catch {
                    logger.warning("database connection failed", metadata: ["error": "\(error)"])
                    db = nil
                }
            }
            job(db)
        }
        db?.close()
    }
}

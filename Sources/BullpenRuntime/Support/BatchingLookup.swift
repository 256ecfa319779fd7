import Foundation
import Logging
import PostgreSQL

/// Answers many concurrent look-ups with few queries: requests that wait while a query runs are answered
/// together by the next one (`WHERE key = ANY($1)`). Under load this trades one round trip and two thread
/// hops per request for one per batch; alone, a request costs the same as a single query.
public final class BatchingLookup<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    public typealias Query = @Sendable ([Key], PGConnection) throws -> [Key: Value]

    private struct Request {
        let key: Key
        let continuation: CheckedContinuation<Value?, any Error>
    }

    private let configuration: PostgresConfiguration
    private let query: Query
    private let maxBatch: Int
    private let logger: Logger
    private let requests = BlockingQueue<Request>()
    private let lock = NSLock()
    private var stopping = false
    private let group = DispatchGroup()

    /// `threads` connections serve the look-ups, each taking up to `maxBatch` waiting requests at a time.
    public init(configuration: PostgresConfiguration, threads: Int = 2, maxBatch: Int = 128, logger: Logger, query: @escaping Query) {
        self.configuration = configuration
        self.query = query
        self.maxBatch = maxBatch
        self.logger = logger
        for index in 0..<max(1, threads) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                serve()
            }
            thread.name = "bullpen-lookup-\(index)"
            thread.start()
        }
    }

    /// The value for `key`, or nil when there is none. Throws when the database is unavailable.
    public func value(for key: Key) async throws -> Value? {
        try await withCheckedThrowingContinuation { continuation in
            requests.put(Request(key: key, continuation: continuation))
        }
    }

    public func shutdown() {
        lock.withLock { stopping = true }
        group.wait()
    }

    private func serve() {
        var db: PGConnection?
        while true {
            let batch = requests.take(upTo: maxBatch, timeout: .milliseconds(200))
            if batch.isEmpty {
                if lock.withLock({ stopping }) { break }
                continue
            }
            do {
                if db == nil || db?.isHealthy == false { db = try PGConnection(configuration) }
                let found = try query(Array(Set(batch.map(\.key))), db!)
                for request in batch { request.continuation.resume(returning: found[request.key]) }
            } catch {
                logger.warning("look-up failed", metadata: ["error": "\(error)", "batch": "\(batch.count)"])
                if (error as? PGError)?.isConnectionFailure ?? true { db = nil }
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
        db?.close()
    }
}

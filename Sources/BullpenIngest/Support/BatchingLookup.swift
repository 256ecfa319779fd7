import Logging
import PostgreSQL
import ServiceLifecycle

/// Answers many concurrent look-ups with few queries: requests that wait while a query runs are answered
/// together by the next one (`WHERE key = ANY($1)`). Under load this trades one round trip and two thread
/// hops per request for one per batch; alone, a request costs the same as a single query.
///
/// A `Service`: its threads run while the service group does. A request that finds the database
/// unavailable fails at once (the caller answers 503) rather than waiting for it to come back.
public final class BatchingLookup<Key: Hashable & Sendable, Value: Sendable>: Service, Sendable {
    public typealias Query = @Sendable ([Key], PGConnection) throws -> [Key: Value]

    private struct Request: Sendable {
        let key: Key
        let continuation: CheckedContinuation<Value?, any Error>
    }

    private let threads: DatabaseThreads<Request>

    /// `threads` connections serve the look-ups, each taking up to `maxBatch` waiting requests at a time.
    /// `setUp` runs on each new connection (session settings).
    public init(
        name: String, configuration: PostgresConfiguration, threads: Int = 2, maxBatch: Int = 128, logger: Logger,
        setUp: @escaping @Sendable (PGConnection) throws -> Void = { _ in }, query: @escaping Query
    ) {
        self.threads = DatabaseThreads(
            name: name, configuration: configuration, threads: threads, maxBatch: maxBatch, logger: logger,
            setUp: setUp,
            work: { batch, db in
                let found = try query(Array(Set(batch.map(\.key))), db)
                for request in batch { request.continuation.resume(returning: found[request.key]) }
            },
            failure: { batch, error in
                for request in batch { request.continuation.resume(throwing: error) }
            })
    }

    /// The value for `key`, or nil when there is none. Throws when the database is unavailable.
    public func value(for key: Key) async throws -> Value? {
        try await withCheckedThrowingContinuation { continuation in
            threads.submit(Request(key: key, continuation: continuation))
        }
    }

    public func run() async { await threads.run() }
}

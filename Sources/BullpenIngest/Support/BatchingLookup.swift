import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// Answers many concurrent look-ups with few queries: requests that wait while a query runs are answered
/// together by the next one (`WHERE key = ANY($1)`). Under load this trades one round trip and two thread
/// hops per request for one per batch; alone, a request costs the same as a single query.
///
/// A `Service`: its threads run while the service group does. A request that finds the database
/// unavailable fails at once (the caller answers 503) rather than waiting for it to come back.
public final class BatchingLookup<Key: Hashable & Sendable, Value: Sendable>: Service, @unchecked Sendable {
    public typealias Query = @Sendable ([Key], PGConnection) throws -> [Key: Value]

    private struct Request {
        let key: Key
        let continuation: CheckedContinuation<Value?, any Error>
    }

    private let name: String
    private let configuration: PostgresConfiguration
    private let threads: Int
    private let maxBatch: Int
    private let query: Query
    private let logger: Logger
    private let requests = BlockingQueue<Request>()

    /// `threads` connections serve the look-ups, each taking up to `maxBatch` waiting requests at a time.
    public init(
        name: String, configuration: PostgresConfiguration, threads: Int = 2, maxBatch: Int = 128, logger: Logger,
        query: @escaping Query
    ) {
        self.name = name
        self.configuration = configuration
        self.threads = max(1, threads)
        self.maxBatch = maxBatch
        self.logger = logger
        self.query = query
    }

    /// The value for `key`, or nil when there is none. Throws when the database is unavailable.
    public func value(for key: Key) async throws -> Value? {
        try await withCheckedThrowingContinuation { continuation in
            requests.put(Request(key: key, continuation: continuation))
        }
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<threads {
                group.addTask { [self] in
                    await BlockingService(name: "bullpen-\(name)-\(index)") { [self] stop in serve(stop) }.run()
                }
            }
        }
    }

    private func serve(_ stop: StopSignal) {
        var session = PostgresSession(configuration)
        defer { session.close() }
        while true {
            let batch = requests.take(upTo: maxBatch, timeout: .milliseconds(200))
            if batch.isEmpty {
                if stop.isRequested { break }
                continue
            }
            do {
                let found = try query(Array(Set(batch.map(\.key))), try session.connection())
                session.succeeded()
                for request in batch { request.continuation.resume(returning: found[request.key]) }
            } catch {
                _ = session.failed(error, logger: logger, "look-up failed")
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
    }
}

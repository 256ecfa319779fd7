import BullpenMessaging
import Logging
import PostgreSQL
import ServiceLifecycle

/// Threads, each with its own PostgreSQL session, that take work items from one queue, up to `maxBatch` at a
/// time, and do them with blocking libpq calls off the event loops. A `Service`: the threads run while the
/// service group does. What the work is, and how a failure is told to whoever waits, the owner says.
final class DatabaseThreads<Item: Sendable>: Service, @unchecked Sendable {
    typealias Work = @Sendable ([Item], PGConnection) throws -> Void
    typealias Failure = @Sendable ([Item], any Error) -> Void

    private let name: String
    private let configuration: PostgresConfiguration
    private let threads: Int
    private let maxBatch: Int
    private let logger: Logger
    private let work: Work
    private let failure: Failure
    private let setUp: @Sendable (PGConnection) throws -> Void
    private let items = BlockingQueue<Item>()

    init(
        name: String, configuration: PostgresConfiguration, threads: Int, maxBatch: Int, logger: Logger,
        setUp: @escaping @Sendable (PGConnection) throws -> Void = { _ in }, work: @escaping Work,
        failure: @escaping Failure
    ) {
        self.setUp = setUp
        self.name = name
        self.configuration = configuration
        self.threads = max(1, threads)
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
        self.work = work
        self.failure = failure
    }

    func submit(_ item: Item) { items.put(item) }

    func run() async {
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
        var prepared: PGConnection?  // the connection set up last (held, so a new one cannot take its address)
        while true {
            let batch = items.take(upTo: maxBatch, timeout: .milliseconds(200))
            if batch.isEmpty {
                if stop.isRequested { break }
                continue
            }
            do {
                let db = try session.connection()
                if prepared !== db {
                    try setUp(db)
                    prepared = db
                }
                try work(batch, db)
                session.succeeded()
            } catch {
                _ = session.failed(error, logger: logger, "\(name) failed")
                failure(batch, error)
            }
        }
    }
}

import AMQP
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// Publishes committed outbox rows with confirms and marks them sent. Any number of relays may run at once:
/// each claims rows with FOR UPDATE SKIP LOCKED, so a row is published by one relay at a time. A row whose
/// publish fails goes back with a growing delay. Wakes on NOTIFY bullpen_outbox, and polls as a fallback.
///
/// Run it as a service after the ``ConfirmingPublisher`` it uses, so that the publisher outlives it at
/// shutdown; tests call ``relayOnce(_:)`` directly.
public final class OutboxRelay: Service, Sendable {
    /// Settings of the relay.
    public struct Configuration: Sendable {
        /// Rows claimed and published per transaction. Default 200.
        public var batchSize: Int
        /// Longest wait for a NOTIFY before looking again. Default 500 ms.
        public var pollInterval: Duration

        public init(batchSize: Int = 200, pollInterval: Duration = .milliseconds(500)) {
            self.batchSize = batchSize
            self.pollInterval = pollInterval
        }
    }

    private let configuration: Configuration
    private let postgres: PostgresConfiguration
    private let topology: Topology
    private let publisher: ConfirmingPublisher
    private let metrics: WorkerMetrics
    private let logger: Logger

    public init(
        configuration: Configuration = .init(), postgres: PostgresConfiguration, topology: Topology,
        publisher: ConfirmingPublisher, metrics: WorkerMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.postgres = postgres
        self.topology = topology
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs until graceful shutdown or cancellation.
    public func run() async {
        await BlockingService(name: "bullpen-outbox-relay") { [self] stop in loop(stop) }.run()
    }

    private func loop(_ stop: StopSignal) {
        var session = PostgresSession(postgres) { try $0.listen("bullpen_outbox") }
        defer { session.close() }
        while !stop.isRequested {
            do {
                let db = try session.connection()
                let published = try relayOnce(db)
                metrics.outboxLag.set(try Outbox.lagSeconds(on: db))
                session.succeeded()
                if published < configuration.batchSize { _ = try db.notifications(timeout: configuration.pollInterval) }
            } catch {
                stop.sleep(for: session.failed(error, logger: logger, "outbox relay failed; retrying"))
            }
        }
    }

    /// Publishes one batch of due rows; returns how many were published.
    @discardableResult
    public func relayOnce(_ db: PGConnection) throws -> Int {
        try db.transaction { tx in
            let entries = try Outbox.claim(limit: configuration.batchSize, in: tx)
            guard !entries.isEmpty else { return 0 }
            let outcomes = publisher.publishAll(entries.map { Envelope.outgoing($0, topology: topology) })
            let sent = zip(entries, outcomes).compactMap { $1 == nil ? $0.id : nil }
            try Outbox.markSent(sent, in: tx)
            let failed = zip(entries, outcomes).filter { $1 != nil }
            if let first = failed.first?.1.map({ "\($0)" }) {
                logger.warning("outbox publish failed", metadata: ["count": "\(failed.count)", "error": "\(first)"])
                try Outbox.markFailed(failed.map(\.0.id), error: "\(first)", in: tx)
            }
            metrics.outboxPublished.increment(by: Int64(sent.count))
            return sent.count
        }
    }
}

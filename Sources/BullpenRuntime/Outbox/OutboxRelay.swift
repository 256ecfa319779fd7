import AMQP
import BullpenStore
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// Publishes committed outbox rows with confirms and marks them sent. Any number of relays may run at once:
/// each claims rows with FOR UPDATE SKIP LOCKED, so a row is published by one relay at a time. A row whose
/// publish fails goes back with a growing delay. Wakes on NOTIFY bullpen_outbox, and polls as a fallback.
public final class OutboxRelay: Service, @unchecked Sendable {
    private let postgres: PostgresConfiguration
    private let publisher: ConfirmingPublisher
    private let metrics: WorkerMetrics
    private let logger: Logger
    private let batchSize: Int
    private let pollInterval: Duration
    private let lock = NSLock()
    private var stopping = false

    public init(
        postgres: PostgresConfiguration, publisher: ConfirmingPublisher, metrics: WorkerMetrics, logger: Logger,
        batchSize: Int = 200, pollInterval: Duration = .milliseconds(500)
    ) {
        self.postgres = postgres
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
        self.batchSize = batchSize
        self.pollInterval = pollInterval
    }

    /// Runs until graceful shutdown, cancellation or ``stop()``.
    public func run() async throws {
        await runBlockingLoop(name: "bullpen-outbox-relay", stop: { [self] in stop() }, loop: { [self] in loop() })
    }

    /// Stops the loop from another thread.
    public func stop() { lock.withLock { stopping = true } }

    private func loop() {
        var db: PGConnection?
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !lock.withLock({ stopping }) {
            do {
                if db == nil {
                    let fresh = try PGConnection(postgres)
                    try fresh.listen("bullpen_outbox")
                    db = fresh
                }
                let published = try relayOnce(db!)
                metrics.outboxLag.set(try Outbox.lagSeconds(on: db!))
                backoff.reset()
                if published < batchSize { _ = try db!.notifications(timeout: pollInterval) }
            } catch {
                logger.warning("outbox relay failed; retrying", metadata: ["error": "\(error)"])
                db?.close()
                db = nil
                Thread.sleep(forTimeInterval: Double(backoff.next().milliseconds) / 1000)
            }
        }
        db?.close()
    }

    /// Publishes one batch of due rows; returns how many were published.
    @discardableResult
    public func relayOnce(_ db: PGConnection) throws -> Int {
        try db.transaction { tx in
            let entries = try Outbox.claim(limit: batchSize, in: tx)
            guard !entries.isEmpty else { return 0 }
            let outcomes = publishAll(entries)
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

    /// Publishes every entry at once and waits for all confirms; nil for a confirmed one, else the error.
    private func publishAll(_ entries: [Outbox.Entry]) -> [PublishError?] {
        let group = DispatchGroup()
        let results = ResultsBox(count: entries.count)
        for (index, entry) in entries.enumerated() {
            group.enter()
            publisher.enqueue(Self.message(entry)) { result in
                if case .failure(let error) = result { results.set(index, error) }
                group.leave()
            }
        }
        group.wait()
        return results.values
    }

    static func message(_ entry: Outbox.Entry) -> OutgoingMessage {
        return OutgoingMessage(
            exchange: entry.exchange, routingKey: entry.routingKey, body: entry.body,
            properties: AMQPProperties(
                contentType: "application/json", persistent: true, priority: entry.priority.map { UInt8(clamping: $0) },
                correlationID: entry.correlationID, messageID: entry.messageID,
                timestamp: UInt64(Date().timeIntervalSince1970), type: entry.type, appID: "bullpen-outbox", headers: AMQPTable(json: entry.headersJSON)))
    }
}

private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [PublishError?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ error: PublishError) { lock.withLock { storage[index] = error } }
    var values: [PublishError?] { lock.withLock { storage } }
}

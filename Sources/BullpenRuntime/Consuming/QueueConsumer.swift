import AMQP
import BullpenStore
import Foundation
import Logging
import PostgreSQL

/// One consumer of one work queue: an AMQP connection served by an I/O thread, and a PostgreSQL connection
/// used by a handler thread.
///
/// The I/O thread only moves frames: it hands deliveries to the handler thread and performs what the
/// handler thread hands back, so heartbeats are served every 200 ms whatever a handler does.
/// - applied: ack;
/// - retry later: publish a copy to the queue's next delay tier (channel 2, with a confirm), then ack;
/// - park: publish a copy with the reason to the dead-letter queue (with a confirm), then ack.
/// After a lost connection it reconnects with backoff; deliveries of the old connection are dropped
/// unacked (the broker redelivers them, and the inbox makes the second application a no-op).
public final class QueueConsumer: @unchecked Sendable {
    /// Settings of one consumer.
    public struct Configuration: Sendable {
        /// The queue's short name (`review`).
        public var queue: String
        /// Deliveries applied in one transaction (each with its own inbox row and savepoint). Default 1.
        public var batchSize: Int
        /// Unacknowledged deliveries the broker may send ahead. Default: the batch size, so the consumer
        /// holds no more than it can work on and priorities hold.
        public var prefetch: UInt16
        /// How long a graceful stop waits for in-flight work before leaving it to be redelivered. Default 10 s.
        public var shutdownDeadline: Duration
        /// Names the consumer in logs.
        public var name: String

        public init(
            queue: String, batchSize: Int = 1, prefetch: UInt16? = nil, shutdownDeadline: Duration = .seconds(10),
            name: String = "consumer"
        ) {
            self.queue = queue
            self.batchSize = max(1, batchSize)
            self.prefetch = prefetch ?? UInt16(clamping: max(1, batchSize))
            self.shutdownDeadline = shutdownDeadline
            self.name = name
        }
    }

    /// Counts since start, for tests and logs (Prometheus gets the same through ``WorkerMetrics``).
    public struct Stats: Sendable, Equatable {
        public var delivered = 0
        public var redelivered = 0
        public var acked = 0
        public var duplicates = 0
        public var retried = 0
        public var parked = 0
        public var reconnects = 0
    }

    private struct Work {
        let generation: Int
        let delivery: AMQPDelivery
    }

    private struct Completion {
        let generation: Int
        let delivery: AMQPDelivery
        let decision: DeliveryApplier.Decision
    }

    private let configuration: Configuration
    private let topology: Topology
    private let spec: QueueSpec
    private let amqp: AMQPConfiguration
    private let postgres: PostgresConfiguration
    private let handlers: [any MessageHandler]
    private let logger: Logger
    private let metrics: WorkerMetrics.Queue

    private let work = BlockingQueue<Work>()
    private let completions = BlockingQueue<Completion>()
    private let wakeup = Wakeup()
    private let lock = NSLock()
    private var stopRequested = false
    private var hardStop = false
    private var ioFinished = false
    private var currentGeneration = 0
    private var stats = Stats()
    private let group = DispatchGroup()

    private let consumeChannel: UInt16 = 1
    private let publishChannel: UInt16 = 2

    public init(
        configuration: Configuration, topology: Topology, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        handlers: [any MessageHandler], metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) throws {
        self.configuration = configuration
        self.topology = topology
        spec = try topology.queue(configuration.queue)
        self.amqp = amqp
        self.postgres = postgres
        self.handlers = handlers
        self.metrics = metrics.queue(configuration.queue)
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.name)"
        logger[metadataKey: "message.queue"] = "\(configuration.queue)"
        self.logger = logger
    }

    public var statistics: Stats { lock.withLock { stats } }

    /// Starts both threads.
    public func start() {
        for role in ["io", "handler"] {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                if role == "io" { runIO() } else { runHandler() }
            }
            thread.name = "bullpen-\(configuration.name)-\(role)"
            thread.start()
        }
    }

    /// Graceful stop: cancel the consumer, let in-flight work finish and be acked, close. Work not done by
    /// the configured deadline is left unacked for redelivery. Returns when both threads have ended.
    public func stop() {
        lock.withLock { stopRequested = true }
        wakeup.signal()
        if group.wait(timeout: .now() + .milliseconds(configuration.shutdownDeadline.milliseconds + 2000)) == .timedOut {
            lock.withLock { hardStop = true }
            wakeup.signal()
            group.wait()
        }
    }

    // MARK: I/O thread

    private func runIO() {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        defer { lock.withLock { ioFinished = true } }
        var firstConnect = true
        while !lock.withLock({ stopRequested }) {
            let connection: AMQPConnection
            let consumerTag: String
            do {
                connection = try AMQPConnection(amqp)
                try connection.openChannel(consumeChannel)
                try connection.openChannel(publishChannel)
                try connection.confirmSelect(channel: publishChannel)
                try connection.setPrefetch(configuration.prefetch, channel: consumeChannel)
                consumerTag = try connection.consume(queue: topology.workQueue(spec.name), channel: consumeChannel)
                backoff.reset()
                if !firstConnect { lock.withLock { stats.reconnects += 1 } }
                firstConnect = false
                logger.info("consuming", metadata: ["amqp.url": "\(amqp)", "prefetch": "\(configuration.prefetch)"])
            } catch {
                logger.warning("cannot start consuming; retrying", metadata: ["error": "\(error)"])
                pause(backoff.next())
                continue
            }
            do {
                try serve(connection, consumerTag: consumerTag)
                connection.close()
                return
            } catch {
                logger.warning("consumer connection lost; reconnecting", metadata: ["error": "\(error)"])
                connection.close()
                lock.withLock { currentGeneration += 1 }
                _ = completions.drain()
                pause(backoff.next())
            }
        }
    }

    /// Moves frames until a graceful stop completes (returns) or the connection fails (throws).
    private func serve(_ connection: AMQPConnection, consumerTag: String) throws {
        let generation = lock.withLock { currentGeneration }
        var inFlight = 0
        var confirms = ConfirmTracker<UInt64>()
        var acks = AckLedger()
        var cancelledAt: ContinuousClock.Instant?
        while true {
            let (stop, hard) = lock.withLock { (stopRequested, hardStop) }
            if stop && cancelledAt == nil {
                // Stop taking new work; deliveries already on their way stay unacked and are requeued on close.
                try connection.cancel(consumerTag: consumerTag, channel: consumeChannel)
                cancelledAt = .now
                logger.info("stopping: waiting for in-flight work", metadata: ["inflight": "\(inFlight)"])
            }
            if let cancelledAt, inFlight == 0 || hard || ContinuousClock.now - cancelledAt > configuration.shutdownDeadline {
                if inFlight > 0 { logger.warning("stop deadline passed; leaving work for redelivery", metadata: ["inflight": "\(inFlight)"]) }
                return
            }

            if let event = try connection.nextEvent(timeout: .milliseconds(200), wakeup: wakeup) {
                switch event {
                case .delivery(let delivery) where cancelledAt == nil:
                    inFlight += 1
                    acks.delivered(delivery.deliveryTag)
                    metrics.consumed.increment()
                    if delivery.redelivered { metrics.redelivered.increment() }
                    lock.withLock {
                        stats.delivered += 1
                        if delivery.redelivered { stats.redelivered += 1 }
                    }
                    work.put(Work(generation: generation, delivery: delivery))
                case .publisherAck(let channel, let tag, let multiple) where channel == publishChannel:
                    for (original, outcome) in confirms.ack(deliveryTag: tag, multiple: multiple) {
                        try settleCopied(original, outcome: outcome, acks: &acks, on: connection)
                        inFlight -= 1
                    }
                case .publisherNack(let channel, let tag, let multiple) where channel == publishChannel:
                    for (original, outcome) in confirms.nack(deliveryTag: tag, multiple: multiple) {
                        try settleCopied(original, outcome: outcome, acks: &acks, on: connection)
                        inFlight -= 1
                    }
                case .returned(let message):
                    confirms.returned(messageID: message.properties.messageID, replyCode: message.replyCode, replyText: message.replyText)
                case .channelClosed(_, let code, let text):
                    throw AMQPError(.channelClosed, "the broker closed a consumer channel: \(text)", replyCode: code)
                case .consumerCancelled:
                    throw AMQPError(.channelClosed, "the broker cancelled the consumer (queue deleted?)")
                default:
                    break
                }
            }

            var toAck: [UInt64] = []
            var duplicates = 0
            for done in completions.drain() where done.generation == generation {
                switch done.decision {
                case .ack(let result):
                    toAck.append(done.delivery.deliveryTag)
                    if result == .duplicate { duplicates += 1 }
                case .retry(let tier, let nextAttempt, let reason):
                    var properties = done.delivery.properties
                    properties.headers[InboundMessage.attemptHeader] = .int32(Int32(nextAttempt))
                    properties.headers["x-bullpen-last-error"] = .string(String(reason.prefix(500)))
                    try publishCopy(
                        done.delivery, exchange: topology.retryExchange,
                        routingKey: topology.retryRoutingKey(spec.name, tier: tier), properties: properties,
                        on: connection, confirms: &confirms)
                    metrics.retried.increment()
                    lock.withLock { stats.retried += 1 }
                case .park(let reason):
                    var properties = done.delivery.properties
                    properties.headers["x-bullpen-reason"] = .string(String(reason.prefix(1000)))
                    properties.headers["x-bullpen-parked-from"] = .string(spec.name)
                    try publishCopy(
                        done.delivery, exchange: topology.deadExchange, routingKey: spec.name, properties: properties,
                        on: connection, confirms: &confirms)
                    metrics.deadLettered.increment()
                    lock.withLock { stats.parked += 1 }
                case .abandon:
                    // Stays unsettled in the ledger: no later `multiple` ack may cover it, so it is redelivered.
                    inFlight -= 1
                }
            }
            if !toAck.isEmpty {
                // One frame for a run of consecutive acks (the common case with batches).
                try send(acks.ack(toAck), on: connection)
                inFlight -= toAck.count
                metrics.acked.increment(by: Int64(toAck.count))
                metrics.duplicates.increment(by: Int64(duplicates))
                lock.withLock {
                    stats.acked += toAck.count
                    stats.duplicates += duplicates
                }
            }
        }
    }

    /// Publishes a copy of a delivery (to a delay tier or the dead-letter queue); the original is acked
    /// when the copy is confirmed.
    private func publishCopy(
        _ delivery: AMQPDelivery, exchange: String, routingKey: String, properties: AMQPProperties,
        on connection: AMQPConnection, confirms: inout ConfirmTracker<UInt64>
    ) throws {
        try connection.publish(
            exchange: exchange, routingKey: routingKey, body: delivery.body, properties: properties, mandatory: true,
            channel: publishChannel)
        confirms.published(messageID: properties.messageID, token: delivery.deliveryTag)
    }

    /// Settles the original of a copied delivery once the broker answered for the copy.
    private func settleCopied(
        _ deliveryTag: UInt64, outcome: ConfirmTracker<UInt64>.Outcome, acks: inout AckLedger, on connection: AMQPConnection
    ) throws {
        switch outcome {
        case .acked:
            try send(acks.ack([deliveryTag]), on: connection)
            return
        case .returned(let code, let text):
            // The delay or dead-letter queue is missing: let the work queue's dead-letter exchange take it.
            logger.error("copy unroutable; rejecting the original", metadata: ["code": "\(code)", "text": "\(text)"])
            try connection.reject(deliveryTag: deliveryTag, requeue: false, channel: consumeChannel)
        case .nacked, .failed:
            try connection.nack(deliveryTag: deliveryTag, requeue: true, channel: consumeChannel)
        }
        acks.forget(deliveryTag)
    }

    private func send(_ frames: [AckLedger.Ack], on connection: AMQPConnection) throws {
        for frame in frames {
            switch frame {
            case .single(let tag): try connection.ack(deliveryTag: tag, channel: consumeChannel)
            case .upTo(let tag): try connection.ack(deliveryTag: tag, multiple: true, channel: consumeChannel)
            }
        }
    }

    // MARK: Handler thread

    private func runHandler() {
        var db: PGConnection?
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while true {
            let (finished, hard) = lock.withLock { (ioFinished, hardStop) }
            if hard || (finished && work.count == 0) { break }
            let batch = work.take(upTo: configuration.batchSize, timeout: .milliseconds(200))
            let generation = lock.withLock { currentGeneration }
            let live = batch.filter { $0.generation == generation }  // stale ones will be redelivered
            guard !live.isEmpty else { continue }
            while db == nil {
                do {
                    db = try PGConnection(postgres)
                } catch {
                    logger.warning("cannot connect to PostgreSQL; retrying", metadata: ["error": "\(error)"])
                    if lock.withLock({ hardStop }) { return }
                    pause(backoff.next())
                }
            }
            let applier = DeliveryApplier(db: db!, handlers: handlers, queue: spec, logger: logger)
            let started = ContinuousClock.now
            let decisions = applier.applyBatch(live.map(\.delivery)) { self.lock.withLock { self.hardStop } }
            let elapsed = ContinuousClock.now - started
            for (item, decision) in zip(live, decisions) {
                metrics.handlerDuration.record(elapsed / live.count)
                completions.put(Completion(generation: item.generation, delivery: item.delivery, decision: decision))
            }
            wakeup.signal()
        }
        db?.close()
    }

    private func pause(_ duration: Duration) {
        Thread.sleep(forTimeInterval: Double(duration.milliseconds) / 1000)
    }
}

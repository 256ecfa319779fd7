import AMQP
import BullpenDomain
import Foundation
import Logging
import PostgreSQL

/// How a consumer takes work; one set of defaults for `bullpen worker`, the pool and every consumer.
public struct ConsumerSettings: Sendable, Equatable {
    /// Deliveries applied in one transaction (each with its own inbox row). Default 1: lowest latency; 50
    /// for throughput.
    public var batchSize: Int
    /// Unacknowledged deliveries the broker may send ahead. Default nil: the batch size, so a consumer holds
    /// no more than it can work on and priorities hold.
    public var prefetch: UInt16?
    /// How long a graceful stop waits for in-flight work before leaving it to be redelivered. Default 10 s.
    public var shutdownDeadline: Duration

    public init(batchSize: Int = 1, prefetch: UInt16? = nil, shutdownDeadline: Duration = .seconds(10)) {
        self.batchSize = max(1, batchSize)
        self.prefetch = prefetch
        self.shutdownDeadline = shutdownDeadline
    }

    /// The prefetch in force.
    public var effectivePrefetch: UInt16 { prefetch ?? UInt16(clamping: batchSize) }
}

/// One consumer of one work queue: an AMQP connection served by an I/O thread, and a PostgreSQL connection
/// used by a handler thread.
///
/// The I/O thread only moves frames: it hands deliveries to the handler thread and performs what the
/// ``ConsumerStateMachine`` makes of the handler's decisions, so heartbeats are served every 200 ms whatever
/// a handler does:
/// - applied: ack;
/// - retry later: publish a copy to the queue's next delay tier (channel 2, with a confirm), then ack;
/// - park: publish a copy with the reason to the dead-letter queue (with a confirm), then ack.
/// After a lost connection it reconnects with backoff; deliveries of the old connection are dropped
/// unacked (the broker redelivers them, and the inbox makes the second application a no-op).
public final class QueueConsumer: @unchecked Sendable {
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

    /// Names the consumer in logs and thread names.
    public let name: String
    private let settings: ConsumerSettings
    private let topology: Topology
    private let spec: QueueSpec
    private let band: Topology.Band
    private let amqp: AMQPConfiguration
    private let postgres: PostgresConfiguration
    private let handlers: [String: ErasedHandler]
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

    /// `band`: which of the queue's priority bands it consumes (quorum mode; classic has the normal one).
    public init(
        queue: WorkQueue, band: Topology.Band = .normal, settings: ConsumerSettings = .init(), name: String? = nil,
        topology: Topology,
        amqp: AMQPConfiguration, postgres: PostgresConfiguration, handlers: HandlerRegistry,
        metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) {
        self.name = name ?? queue.rawValue
        self.settings = settings
        self.topology = topology
        spec = topology.spec(queue)
        self.band = band
        self.amqp = amqp
        self.postgres = postgres
        self.handlers = handlers.handlers(for: queue)
        self.metrics = metrics.queue(queue.rawValue)
        var logger = logger
        logger[metadataKey: "consumer"] = "\(self.name)"
        logger[metadataKey: "message.queue"] = "\(queue.rawValue)"
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
            thread.name = "bullpen-\(name)-\(role)"
            thread.start()
        }
    }

    /// Graceful stop: cancel the consumer, let in-flight work finish and be acked, close. Work not done by
    /// the configured deadline is left unacked for redelivery. Returns when both threads have ended.
    public func stop() {
        lock.withLock { stopRequested = true }
        wakeup.signal()
        if group.wait(timeout: .now() + .milliseconds(settings.shutdownDeadline.milliseconds + 2000)) == .timedOut {
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
                try connection.setPrefetch(settings.effectivePrefetch, channel: consumeChannel)
                consumerTag = try connection.consume(
                    queue: topology.workQueue(spec.queue, band: band), channel: consumeChannel)
                backoff.reset()
                if !firstConnect { lock.withLock { stats.reconnects += 1 } }
                firstConnect = false
                logger.info(
                    "consuming", metadata: ["amqp.url": "\(amqp)", "prefetch": "\(settings.effectivePrefetch)"])
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
        var machine = ConsumerStateMachine(shutdownDeadline: settings.shutdownDeadline)
        /// Deliveries by tag while their copy is being made.
        var pending: [UInt64: AMQPDelivery] = [:]

        /// Performs the machine's actions; returns true when the stop is over.
        func perform(_ actions: [ConsumerStateMachine.Action]) throws -> Bool {
            for action in actions {
                switch action {
                case .handOff(let tag):
                    guard let delivery = pending.removeValue(forKey: tag) else { continue }
                    work.put(Work(generation: generation, delivery: delivery))
                case .ack(let frames, let applied, let duplicates):
                    try send(frames, on: connection)
                    guard applied > 0 else { continue }
                    metrics.acked.increment(by: Int64(applied))
                    metrics.duplicates.increment(by: Int64(duplicates))
                    lock.withLock {
                        stats.acked += applied
                        stats.duplicates += duplicates
                    }
                case .publishCopy(let tag, let target):
                    guard let delivery = pending.removeValue(forKey: tag) else { continue }
                    try publishCopy(delivery, to: target, on: connection)
                    machine.copyPublished(deliveryTag: tag, messageID: delivery.properties.messageID)
                case .reject(let tag):
                    logger.error("copy unroutable; rejecting the original to the work queue's dead-letter exchange")
                    try connection.reject(deliveryTag: tag, requeue: false, channel: consumeChannel)
                case .requeue(let tag):
                    try connection.nack(deliveryTag: tag, requeue: true, channel: consumeChannel)
                case .cancelConsumer:
                    try connection.cancel(consumerTag: consumerTag, channel: consumeChannel)
                    logger.info("stopping: waiting for in-flight work", metadata: ["inflight": "\(machine.inFlight)"])
                case .finish(let abandoned):
                    if abandoned > 0 {
                        logger.warning(
                            "stop deadline passed; leaving work for redelivery", metadata: ["inflight": "\(abandoned)"])
                    }
                    return true
                }
            }
            return false
        }

        while true {
            let (stop, hard) = lock.withLock { (stopRequested, hardStop) }
            if try perform(machine.tick(now: .now, stopRequested: stop, hardStop: hard)) { return }

            if let event = try connection.nextEvent(timeout: .milliseconds(200), wakeup: wakeup) {
                switch event {
                case .delivery(let delivery):
                    let actions = machine.delivered(deliveryTag: delivery.deliveryTag)
                    if !actions.isEmpty {
                        metrics.consumed.increment()
                        if delivery.redelivered { metrics.redelivered.increment() }
                        lock.withLock {
                            stats.delivered += 1
                            if delivery.redelivered { stats.redelivered += 1 }
                        }
                        pending[delivery.deliveryTag] = delivery
                    }
                    _ = try perform(actions)
                case .publisherAck(let channel, let tag, let multiple) where channel == publishChannel:
                    _ = try perform(machine.copiesAcked(deliveryTag: tag, multiple: multiple))
                case .publisherNack(let channel, let tag, let multiple) where channel == publishChannel:
                    _ = try perform(machine.copiesNacked(deliveryTag: tag, multiple: multiple))
                case .returned(let message):
                    machine.copyReturned(
                        messageID: message.properties.messageID, replyCode: message.replyCode,
                        replyText: message.replyText)
                case .channelClosed(_, let code, let text):
                    throw AMQPError(.channelClosed, "the broker closed a consumer channel: \(text)", replyCode: code)
                case .consumerCancelled:
                    throw AMQPError(.channelClosed, "the broker cancelled the consumer (queue deleted?)")
                default:
                    break
                }
            }

            let done = completions.drain().filter { $0.generation == generation }
            guard !done.isEmpty else { continue }
            for item in done { pending[item.delivery.deliveryTag] = item.delivery }
            _ = try perform(machine.completed(done.map { ($0.delivery.deliveryTag, $0.decision) }))
            for item in done { pending.removeValue(forKey: item.delivery.deliveryTag) }
        }
    }

    /// Publishes a copy of a delivery to a delay tier or the dead-letter queue; the original is settled when
    /// the broker confirms the copy.
    private func publishCopy(
        _ delivery: AMQPDelivery, to target: ConsumerStateMachine.CopyTarget, on connection: AMQPConnection
    ) throws {
        switch target {
        case .retry(let tier, let nextAttempt, let reason):
            try connection.publish(
                exchange: topology.retryExchange,
                routingKey: topology.retryRoutingKey(spec.queue, tier: tier, band: band),
                body: delivery.body,
                properties: Envelope.retryCopy(of: delivery.properties, nextAttempt: nextAttempt, reason: reason),
                mandatory: true, channel: publishChannel)
            metrics.retried.increment()
            lock.withLock { stats.retried += 1 }
        case .deadLetter(let reason):
            try connection.publish(
                exchange: topology.deadExchange, routingKey: spec.name, body: delivery.body,
                properties: Envelope.parkedCopy(of: delivery.properties, reason: reason, from: spec.name),
                mandatory: true, channel: publishChannel)
            metrics.deadLettered.increment()
            lock.withLock { stats.parked += 1 }
        }
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
        var session = PostgresSession(postgres)
        defer { session.close() }
        while true {
            let (finished, hard) = lock.withLock { (ioFinished, hardStop) }
            if hard || (finished && work.count == 0) { break }
            let batch = work.take(upTo: settings.batchSize, timeout: .milliseconds(200))
            let generation = lock.withLock { currentGeneration }
            let live = batch.filter { $0.generation == generation }  // stale ones will be redelivered
            guard !live.isEmpty else { continue }
            var db: PGConnection?
            while db == nil {
                do {
                    db = try session.connection()
                } catch {
                    let pause = session.failed(error, logger: logger, "cannot connect to PostgreSQL; retrying")
                    if lock.withLock({ hardStop }) { return }
                    self.pause(pause)
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
    }

    private func pause(_ duration: Duration) {
        Thread.sleep(forTimeInterval: Double(duration.milliseconds) / 1000)
    }
}

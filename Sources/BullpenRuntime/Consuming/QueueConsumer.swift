import AMQP
import BullpenStore
import Foundation
import Logging
import PostgreSQL

/// One consumer of one work queue: an AMQP connection served by an I/O thread, and a PostgreSQL connection
/// used by a handler thread.
///
/// The I/O thread only moves frames: it hands deliveries to the handler thread and performs the acks and
/// rejects the handler thread hands back, so heartbeats are served every 200 ms whatever a handler does.
/// After a lost connection it reconnects with backoff; deliveries of the old connection are dropped
/// unacked (the broker redelivers them, and the inbox makes the second application a no-op).
public final class QueueConsumer: @unchecked Sendable {
    /// Settings of one consumer.
    public struct Configuration: Sendable {
        /// The queue's short name (`review`).
        public var queue: String
        /// Unacknowledged deliveries the broker may send ahead. Small, so priorities hold. Default 4.
        public var prefetch: UInt16
        /// How long a graceful stop waits for in-flight work before leaving it to be redelivered. Default 10 s.
        public var shutdownDeadline: Duration
        /// Names the consumer in logs and the broker's consumer list.
        public var name: String

        public init(queue: String, prefetch: UInt16 = 4, shutdownDeadline: Duration = .seconds(10), name: String = "consumer") {
            self.queue = queue
            self.prefetch = prefetch
            self.shutdownDeadline = shutdownDeadline
            self.name = name
        }
    }

    private struct Work {
        let generation: Int
        let delivery: AMQPDelivery
    }

    private struct Completion {
        let generation: Int
        let deliveryTag: UInt64
        let decision: DeliveryApplier.Decision
    }

    private let configuration: Configuration
    private let topology: Topology
    private let amqp: AMQPConfiguration
    private let postgres: PostgresConfiguration
    private let handlers: [any MessageHandler]
    private let logger: Logger

    private let work = BlockingQueue<Work>()
    private let completions = BlockingQueue<Completion>()
    private let wakeup = Wakeup()
    private let lock = NSLock()
    private var stopRequested = false
    private var hardStop = false
    private var ioFinished = false
    private var currentGeneration = 0
    private let group = DispatchGroup()
    private var stats = Stats()

    /// Counts since start, for tests and metrics.
    public struct Stats: Sendable, Equatable {
        public var delivered = 0
        public var acked = 0
        public var duplicates = 0
        public var parked = 0
        public var reconnects = 0
    }

    public init(
        configuration: Configuration, topology: Topology, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        handlers: [any MessageHandler], logger: Logger
    ) {
        self.configuration = configuration
        self.topology = topology
        self.amqp = amqp
        self.postgres = postgres
        self.handlers = handlers
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.name)"
        logger[metadataKey: "message.queue"] = "\(configuration.queue)"
        self.logger = logger
    }

    public var statistics: Stats { lock.withLock { stats } }

    /// Starts both threads.
    public func start() {
        group.enter()
        let io = Thread { [self] in
            defer { group.leave() }
            runIO()
        }
        io.name = "bullpen-\(configuration.name)-io"
        group.enter()
        let handler = Thread { [self] in
            defer { group.leave() }
            runHandler()
        }
        handler.name = "bullpen-\(configuration.name)-handler"
        io.start()
        handler.start()
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

    /// Waits until both threads have ended (after ``stop()`` or a fatal error).
    public func wait() {
        group.wait()
    }

    // MARK: I/O thread

    private func runIO() {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        defer { lock.withLock { ioFinished = true } }
        let channel: UInt16 = 1
        var firstConnect = true
        while !lock.withLock({ stopRequested }) {
            let connection: AMQPConnection
            let consumerTag: String
            do {
                connection = try AMQPConnection(amqp)
                try connection.openChannel(channel)
                try connection.setPrefetch(configuration.prefetch, channel: channel)
                consumerTag = try connection.consume(
                    queue: topology.workQueue(configuration.queue), consumerTag: "", channel: channel)
                backoff.reset()
                if !firstConnect { lock.withLock { stats.reconnects += 1 } }
                firstConnect = false
                logger.info("consuming", metadata: ["amqp.url": "\(amqp)"])
            } catch {
                logger.warning("cannot start consuming; retrying", metadata: ["error": "\(error)"])
                sleep(backoff.next())
                continue
            }
            do {
                try serve(connection, channel: channel, consumerTag: consumerTag)
                connection.close()
                return
            } catch {
                logger.warning("consumer connection lost; reconnecting", metadata: ["error": "\(error)"])
                connection.close()
                lock.withLock { currentGeneration += 1 }
                _ = completions.drain()
                sleep(backoff.next())
            }
        }
    }

    /// Moves frames until a graceful stop completes (returns) or the connection fails (throws).
    private func serve(_ connection: AMQPConnection, channel: UInt16, consumerTag: String) throws {
        let generation = lock.withLock { currentGeneration }
        var inFlight = 0
        var cancelledAt: ContinuousClock.Instant?
        while true {
            let (stop, hard) = lock.withLock { (stopRequested, hardStop) }
            if stop && cancelledAt == nil {
                // Stop taking new work; deliveries already on their way stay unacked and are requeued on close.
                try connection.cancel(consumerTag: consumerTag, channel: channel)
                cancelledAt = .now
                logger.info("stopping: waiting for in-flight work", metadata: ["inflight": "\(inFlight)"])
            }
            if let cancelledAt {
                if inFlight == 0 || hard || ContinuousClock.now - cancelledAt > configuration.shutdownDeadline { return }
            }

            if let event = try connection.nextEvent(timeout: .milliseconds(200), wakeup: wakeup) {
                switch event {
                case .delivery(let delivery) where cancelledAt == nil:
                    inFlight += 1
                    lock.withLock { stats.delivered += 1 }
                    work.put(Work(generation: generation, delivery: delivery))
                case .channelClosed(_, let code, let text):
                    throw AMQPError(.channelClosed, "the broker closed the consumer's channel: \(text)", replyCode: code)
                case .consumerCancelled:
                    throw AMQPError(.channelClosed, "the broker cancelled the consumer (queue deleted?)")
                default:
                    break
                }
            }

            for done in completions.drain() where done.generation == generation {
                inFlight -= 1
                switch done.decision {
                case .ack(let result):
                    try connection.ack(deliveryTag: done.deliveryTag, channel: channel)
                    lock.withLock {
                        stats.acked += 1
                        if result == .duplicate { stats.duplicates += 1 }
                    }
                case .park:
                    try connection.reject(deliveryTag: done.deliveryTag, requeue: false, channel: channel)
                    lock.withLock { stats.parked += 1 }
                case .abandon:
                    break
                }
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
            guard let item = work.take(timeout: .milliseconds(200)) else { continue }
            guard item.generation == lock.withLock({ currentGeneration }) else { continue }  // stale: will be redelivered
            while db == nil {
                do {
                    db = try PGConnection(postgres)
                } catch {
                    logger.warning("cannot connect to PostgreSQL; retrying", metadata: ["error": "\(error)"])
                    if lock.withLock({ hardStop }) { return }
                    sleep(backoff.next())
                }
            }
            let applier = DeliveryApplier(db: db!, handlers: handlers, queue: configuration.queue, logger: logger)
            let decision = applier.apply(item.delivery) { self.lock.withLock { self.hardStop } }
            completions.put(Completion(generation: item.generation, deliveryTag: item.delivery.deliveryTag, decision: decision))
            wakeup.signal()
        }
        db?.close()
    }

    private func sleep(_ duration: Duration) {
        Thread.sleep(forTimeInterval: Double(duration.milliseconds) / 1000)
    }
}

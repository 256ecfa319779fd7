import AMQP
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// The consumers of `bullpen worker`, as one `Service`: N consumers per queue, started together and
/// stopped gracefully together when the service group shuts down (SIGTERM, SIGINT).
public final class WorkerPool: Service, @unchecked Sendable {
    /// Settings of `bullpen worker`.
    public struct Configuration: Sendable {
        /// Short names of the queues to consume.
        public var queues: [String]
        /// Consumers per queue, each with its own AMQP and PostgreSQL connection. Default 1.
        public var consumersPerQueue: Int
        /// Deliveries applied per transaction. Default 1.
        public var batchSize: Int
        /// Prefetch per consumer; nil follows the batch size.
        public var prefetch: UInt16?
        /// How long a graceful stop waits for in-flight work. Default 10 s.
        public var shutdownDeadline: Duration

        public init(
            queues: [String], consumersPerQueue: Int = 1, batchSize: Int = 1, prefetch: UInt16? = nil,
            shutdownDeadline: Duration = .seconds(10)
        ) {
            self.queues = queues
            self.consumersPerQueue = consumersPerQueue
            self.batchSize = batchSize
            self.prefetch = prefetch
            self.shutdownDeadline = shutdownDeadline
        }
    }

    public let consumers: [QueueConsumer]
    private let logger: Logger

    public init(
        configuration: Configuration, topology: Topology, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        handlers: [String: [any MessageHandler]], metrics: WorkerMetrics, logger: Logger
    ) throws {
        var consumers: [QueueConsumer] = []
        for queue in configuration.queues {
            _ = try topology.queue(queue)
            for index in 1...max(1, configuration.consumersPerQueue) {
                consumers.append(try QueueConsumer(
                    configuration: .init(
                        queue: queue, batchSize: configuration.batchSize, prefetch: configuration.prefetch,
                        shutdownDeadline: configuration.shutdownDeadline, name: "\(queue)-\(index)"),
                    topology: topology, amqp: amqp, postgres: postgres, handlers: handlers[queue] ?? [],
                    metrics: metrics, logger: logger))
            }
        }
        self.consumers = consumers
        self.logger = logger
    }

    /// Starts every consumer.
    public func start() {
        for consumer in consumers { consumer.start() }
    }

    /// Stops every consumer gracefully, in parallel; returns when all have ended.
    public func stop() {
        DispatchQueue.concurrentPerform(iterations: consumers.count) { consumers[$0].stop() }
    }

    /// Starts the consumers and stops them gracefully on graceful shutdown or cancellation.
    public func run() async throws {
        start()
        logger.info("worker running", metadata: ["consumers": "\(consumers.count)"])
        let stopSignal = DispatchSemaphore(value: 0)
        await runBlockingLoop(name: "bullpen-worker-pool", stop: { stopSignal.signal() }) { [self] in
            stopSignal.wait()
            logger.info("worker stopping")
            stop()
        }
        logger.info("worker stopped")
    }
}

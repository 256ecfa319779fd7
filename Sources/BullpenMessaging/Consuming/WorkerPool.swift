import AMQP
import BullpenDomain
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// The consumers of `bullpen worker`, as one `Service`: N consumers per queue, started together and
/// stopped gracefully together when the service group shuts down (SIGTERM, SIGINT).
public final class WorkerPool: Service, Sendable {
    /// Settings of `bullpen worker`.
    public struct Configuration: Sendable {
        /// The queues to consume.
        public var queues: [WorkQueue]
        /// Consumers per queue, each with its own AMQP and PostgreSQL connection. Default 1.
        public var consumersPerQueue: Int
        /// How each consumer takes work.
        public var consumer: ConsumerSettings

        public init(queues: [WorkQueue], consumersPerQueue: Int = 1, consumer: ConsumerSettings = .init()) {
            self.queues = queues
            self.consumersPerQueue = consumersPerQueue
            self.consumer = consumer
        }
    }

    public let consumers: [QueueConsumer]
    private let logger: Logger

    public init(
        configuration: Configuration, topology: Topology, amqp: AMQPConfiguration, postgres: PostgresConfiguration,
        handlers: HandlerRegistry, metrics: WorkerMetrics, logger: Logger
    ) {
        consumers = configuration.queues.flatMap { queue in
            topology.bands(queue).flatMap { band in
                (1...max(1, configuration.consumersPerQueue)).map { index in
                    QueueConsumer(
                        queue: queue, band: band, settings: configuration.consumer,
                        name: "\(queue.rawValue)\(band == .high ? ".high" : "")-\(index)", topology: topology,
                        amqp: amqp, postgres: postgres, handlers: handlers, metrics: metrics, logger: logger)
                }
            }
        }
        self.logger = logger
    }

    /// Starts the consumers and stops them gracefully, in parallel, on graceful shutdown or cancellation.
    public func run() async {
        await BlockingService(name: "bullpen-worker-pool") { [consumers, logger] stop in
            for consumer in consumers { consumer.start() }
            logger.info("worker running", metadata: ["consumers": "\(consumers.count)"])
            while !stop.sleep(for: .seconds(60)) {}
            logger.info("worker stopping")
            DispatchQueue.concurrentPerform(iterations: consumers.count) { consumers[$0].stop() }
            logger.info("worker stopped")
        }.run()
    }
}

import AMQP
import BullpenDomain
import BullpenMessaging
import Logging
import ServiceLifecycle

/// Asks the broker how its work queues stand (ready messages, consumers, dead-lettered copies), for
/// `GET /v1/queues`: one AMQP connection of its own, on a thread of its own, answering one request at a time
/// with passive declares. A `Service`; a request fails at once when the broker is unreachable.
public final class BrokerInspector: Service, Sendable {
    public struct QueueState: Sendable, Equatable {
        public let queue: WorkQueue
        /// Messages waiting in the work queue.
        public let ready: Int
        /// Consumers attached to it: worker consumers across all processes and hosts.
        public let consumers: Int
        /// Copies in its dead-letter queue.
        public let deadLettered: Int
    }

    private struct Request: Sendable {
        let continuation: CheckedContinuation<[QueueState], any Error>
    }

    private let configuration: AMQPConfiguration
    private let topology: Topology
    private let logger: Logger
    private let requests = BlockingQueue<Request>()

    public init(configuration: AMQPConfiguration, topology: Topology, logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        self.logger = logger
    }

    /// Every work queue's state, in the order of ``WorkQueue``.
    public func queues() async throws -> [QueueState] {
        try await withCheckedThrowingContinuation { requests.put(Request(continuation: $0)) }
    }

    public func run() async {
        await BlockingService(name: "bullpen-broker-inspector") { [self] stop in serve(stop) }.run()
        for request in requests.drain() {
            request.continuation.resume(throwing: AMQPError(.connectionLost, "ingest is stopping"))
        }
    }

    private func serve(_ stop: StopSignal) {
        var connection: AMQPConnection?
        defer { connection?.close() }
        while !stop.isRequested {
            guard let request = requests.take(timeout: .milliseconds(200)) else { continue }
            // A connection kept from an earlier request may have gone stale while idle (the broker closes
            // one whose heartbeats stopped): its failure is tried once more on a fresh connection.
            var tries = connection == nil ? 1 : 2
            while true {
                tries -= 1
                do {
                    if connection == nil {
                        let opened = try AMQPConnection(configuration)
                        try opened.openChannel(1)
                        connection = opened
                    }
                    request.continuation.resume(returning: try states(on: connection!))
                    break
                } catch {
                    // A missing queue closes the channel, a broken connection the rest: start afresh.
                    connection?.close()
                    connection = nil
                    if tries > 0 { continue }
                    logger.warning("broker inspection failed", metadata: ["error": "\(error)"])
                    request.continuation.resume(throwing: error)
                    break
                }
            }
        }
    }

    private func states(on connection: AMQPConnection) throws -> [QueueState] {
        let order = WorkQueue.allCases
        return try topology.queues.sorted { order.firstIndex(of: $0.queue)! < order.firstIndex(of: $1.queue)! }.map {
            spec in
            // Every band of the queue (quorum mode has two): what waits, and who takes it, across them.
            let bands = try topology.bands(spec.queue).map {
                try connection.declareQueue(topology.workQueue(spec.queue, band: $0), passive: true)
            }
            let dead = try connection.declareQueue(topology.deadQueue(spec.queue), passive: true)
            return QueueState(
                queue: spec.queue, ready: bands.reduce(0) { $0 + $1.messageCount },
                consumers: bands.reduce(0) { $0 + $1.consumerCount }, deadLettered: dead.messageCount)
        }
    }
}

import AMQP
import BullpenDomain
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// Drains the broker's dead-letter queues into the dead_letters table, which is the one record of what is
/// parked (operators replay and purge its rows). Two kinds of message arrive there:
/// - a worker's parked copy (it carries ``MessageHeader/parkedFrom``): its row was committed before the copy
///   was published, so the copy is acked and dropped;
/// - a message the broker dead-lettered by itself (rejected or expired outside Bullpen's retry path): it is
///   recorded as parked, with the broker's reason, and acked after the insert.
///
/// Runs in every worker process; several keepers at once are harmless (a message goes to one of them, and a
/// message recorded twice while parked stays one row).
public final class DeadLetterKeeper: Service, Sendable {
    private let amqp: AMQPConfiguration
    private let postgres: PostgresConfiguration
    private let topology: Topology
    private let idlePause: Duration
    private let logger: Logger
    private static let channel: UInt16 = 1

    public init(
        amqp: AMQPConfiguration, postgres: PostgresConfiguration, topology: Topology,
        idlePause: Duration = .seconds(1), logger: Logger
    ) {
        self.amqp = amqp
        self.postgres = postgres
        self.topology = topology
        self.idlePause = idlePause
        self.logger = logger
    }

    public func run() async {
        await BlockingService(name: "bullpen-dead-letter-keeper") { [self] stop in loop(stop) }.run()
    }

    private func loop(_ stop: StopSignal) {
        var session = PostgresSession(postgres)
        var connection: AMQPConnection?
        defer {
            connection?.close()
            session.close()
        }
        while !stop.isRequested {
            do {
                let broker = try connection ?? open()
                connection = broker
                let kept = try keepOnce(broker: broker, db: try session.connection(), stop: stop)
                session.succeeded()
                if kept == 0 { stop.sleep(for: idlePause) }
            } catch {
                connection?.close()
                connection = nil
                stop.sleep(for: session.failed(error, logger: logger, "dead-letter keeper failed; retrying"))
            }
        }
    }

    private func open() throws -> AMQPConnection {
        let connection = try AMQPConnection(amqp)
        try connection.openChannel(Self.channel)
        return connection
    }

    /// Takes what waits in each dead-letter queue (up to `limit` per queue); returns how many messages it took.
    @discardableResult
    public func keepOnce(
        broker: AMQPConnection, db: PGConnection, limit: Int = 500, stop: StopSignal? = nil
    ) throws
        -> Int
    {
        var kept = 0
        for spec in topology.queues {
            for _ in 0..<limit {
                if stop?.isRequested == true { return kept }
                guard let message = try broker.get(queue: topology.deadQueue(spec.queue), channel: Self.channel)
                else { break }
                if message.properties.headers[MessageHeader.parkedFrom] == nil {
                    try record(message, queue: spec.queue, on: db)
                }
                try broker.ack(deliveryTag: message.deliveryTag, channel: Self.channel)
                kept += 1
            }
        }
        return kept
    }

    private func record(_ message: AMQPDelivery, queue: WorkQueue, on db: PGConnection) throws {
        let properties = message.properties
        let why = properties.headers["x-first-death-reason"]?.stringValue ?? "unknown"
        let reason = "dead-lettered by the broker (\(why)) outside Bullpen's retry path"
        logger.warning(
            "recording a message the broker dead-lettered",
            metadata: [
                "queue": "\(queue.rawValue)", "message.id": "\(properties.messageID ?? "-")", "reason": "\(why)",
            ])
        try DeadLetters.recordParked(
            queue: queue.rawValue, messageID: properties.messageID, type: properties.type,
            priority: properties.priority.map(Int.init), reason: reason,
            attempts: properties.headers[MessageHeader.attempt]?.intValue ?? 1,
            headersJSON: properties.headers.jsonString, body: message.body, on: db)
    }
}

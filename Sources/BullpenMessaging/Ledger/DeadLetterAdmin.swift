import AMQP
import BullpenDomain
import Foundation
import PostgreSQL

/// Operator actions on a queue's parked messages: the dead_letters rows are the record, the dead-letter
/// queue holds the messages themselves. Talks to the broker and the database directly (the operator API
/// comes later); `bullpen dlq` is its command line.
public struct DeadLetterAdmin {
    /// basic.get and its acks go on one channel, the confirmed replays on another: a confirm arriving while
    /// a basic.get waits for its content would otherwise be read in the content's place.
    static let getChannel: UInt16 = 1
    static let publishChannel: UInt16 = 2

    public let topology: Topology
    public let queue: WorkQueue
    let connection: AMQPConnection
    let db: PGConnection

    public init(topology: Topology, queue: WorkQueue, connection: AMQPConnection, db: PGConnection) throws {
        self.topology = topology
        self.queue = queue
        self.connection = connection
        self.db = db
        for channel in [Self.getChannel, Self.publishChannel] where !connection.openChannels.contains(channel) {
            try connection.openChannel(channel)
        }
    }

    /// Messages waiting in the broker's dead-letter queue.
    public func depth() throws -> Int {
        try connection.declareQueue(topology.deadQueue(queue), passive: true).messageCount
    }

    public func list(limit: Int = 100) throws -> [DeadLetter] {
        try DeadLetters.parked(queue: queue, limit: limit, on: db)
    }

    public func show(id: Int64) throws -> DeadLetter? {
        try DeadLetters.deadLetter(id: id, queue: queue, on: db)
    }

    /// What a replay did.
    public struct ReplayReport: Sendable, Equatable {
        /// Dead letters sent back to the work queue.
        public var replayed: [Int64] = []
        /// Requested ids that are not parked (already replayed or purged, or unknown).
        public var notParked: [Int64] = []
    }

    /// Sends parked messages back to the work queue as attempt 1: the given ids, or all when `ids` is nil.
    /// Each is published with a confirm before its dead-letter message is acked and its row marked replayed,
    /// so a crash mid-replay loses nothing; a message replayed twice is still applied once (inbox).
    public func replay(ids: [Int64]?) throws -> ReplayReport {
        var report = ReplayReport()
        let parked = try DeadLetters.parked(queue: queue, limit: 100_000, on: db)
        let selected = ids.map { wanted in parked.filter { wanted.contains($0.id) } } ?? parked
        if let ids { report.notParked = ids.filter { id in !selected.contains { $0.id == id } } }
        guard !selected.isEmpty else { return report }
        let byMessageID = Dictionary(
            selected.compactMap { row in row.messageID.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })

        try connection.confirmSelectIfNeeded(channel: Self.publishChannel)
        var confirms = ConfirmTracker<Int64>()
        var dlqTagsToAck: [UInt64] = []
        var keep: [UInt64] = []
        var fromBroker: Set<Int64> = []
        // Take the dead-letter queue's messages once each; republish the selected ones.
        for _ in 0..<(try depth()) {
            guard let message = try connection.get(queue: topology.deadQueue(queue)) else { break }
            if let id = message.properties.messageID, let row = byMessageID[id], !fromBroker.contains(row.id) {
                try publishReplay(body: message.body, properties: message.properties, tracker: &confirms, token: row.id)
                fromBroker.insert(row.id)
                dlqTagsToAck.append(message.deliveryTag)
            } else {
                keep.append(message.deliveryTag)
            }
        }
        // Rows whose message is not in the broker's queue (purged there, or never arrived): replay from the record.
        for row in selected where !fromBroker.contains(row.id) {
            var properties = AMQPProperties(messageID: row.messageID, type: row.type)
            properties.headers = AMQPTable(json: row.headersJSON)
            try publishReplay(body: row.body, properties: properties, tracker: &confirms, token: row.id)
        }
        let confirmed = try awaitConfirms(&confirms)
        guard confirmed.count == selected.count else {
            if let last = (dlqTagsToAck + keep).max() {
                try connection.nack(deliveryTag: last, multiple: true, requeue: true, channel: Self.getChannel)
            }
            throw AMQPError(
                .library,
                "the broker confirmed \(confirmed.count) of \(selected.count) replays; nothing was marked replayed")
        }
        for tag in dlqTagsToAck { try connection.ack(deliveryTag: tag, channel: Self.getChannel) }
        if let last = keep.max() {
            try connection.nack(deliveryTag: last, multiple: true, requeue: true, channel: Self.getChannel)
        }
        try DeadLetters.resolve(ids: confirmed, as: .replayed, on: db)
        report.replayed = confirmed.sorted()
        return report
    }

    /// Empties the dead-letter queue and marks its parked rows purged; returns (messages, rows).
    public func purge() throws -> (messages: Int, rows: Int) {
        let messages = try connection.purgeQueue(topology.deadQueue(queue))
        let rows = try DeadLetters.parked(queue: queue, limit: 1_000_000, on: db).map(\.id)
        try DeadLetters.resolve(ids: rows, as: .purged, on: db)
        return (messages, rows.count)
    }

    private func publishReplay(
        body: [UInt8], properties: AMQPProperties, tracker: inout ConfirmTracker<Int64>, token: Int64
    ) throws {
        let properties = Envelope.replayCopy(of: properties)
        try connection.publish(
            exchange: topology.workExchange, routingKey: queue.rawValue, body: body, properties: properties,
            mandatory: true,
            channel: Self.publishChannel)
        tracker.published(messageID: properties.messageID, token: token)
    }

    private func awaitConfirms(_ tracker: inout ConfirmTracker<Int64>) throws -> [Int64] {
        var confirmed: [Int64] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while tracker.outstandingCount > 0, ContinuousClock.now < deadline {
            guard let event = try connection.nextEvent(timeout: .milliseconds(200)) else { continue }
            confirmed += tracker.apply(event, channel: Self.publishChannel).filter { $0.1 == .acked }.map(\.0)
        }
        return confirmed
    }
}

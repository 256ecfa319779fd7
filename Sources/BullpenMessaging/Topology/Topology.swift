import AMQP
import BullpenDomain
import Foundation

/// The broker topology: exchanges and, per work queue, its retry delay queues and dead-letter queue.
/// All names carry a prefix, so tests and several deployments can share one vhost.
///
/// Two modes. `classic` (one host, the default): classic queues, a queue with priorities declared with
/// `x-max-priority`. `quorum` (a RabbitMQ cluster): every queue a quorum queue, replicated on a majority of the
/// nodes, so losing one node loses no queue. RabbitMQ 3.10's quorum queues have no priorities, so a queue with
/// priorities gets two bands: `<queue>` for priorities 1-3 and `<queue>.high` for 4-5, chosen by the publisher
/// from the message's priority, each with consumers of its own (a backlog of normal work never holds up the
/// high band) and retry tiers of its own (a retried message comes back to its band). Dead letters of both
/// bands go to the queue's one dead-letter queue.
public struct Topology: Sendable, Equatable {
    public var prefix: String
    public var queues: [QueueSpec]
    public var mode: Mode

    public enum Mode: String, Sendable, Equatable, CaseIterable {
        case classic, quorum
    }

    /// A work queue's priority band (quorum mode); classic mode has the normal band only.
    public enum Band: String, Sendable, Equatable, CaseIterable {
        case normal, high

        /// Priorities that go to the high band.
        public static let highFrom = 4

        var suffix: String { self == .high ? ".high" : "" }
    }

    public init(prefix: String = "bullpen", queues: [QueueSpec], mode: Mode = .classic) {
        self.prefix = prefix
        self.queues = queues
        self.mode = mode
    }

    /// Reads every `*.json` file in `directory` (the repository's `Queues/`).
    public static func load(
        from directory: String, prefix: String = "bullpen", mode: Mode = .classic
    ) throws
        -> Topology
    {
        let url = URL(fileURLWithPath: directory)
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "json" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw TopologyError(description: "cannot read the queue folder \(directory): \(error.localizedDescription)")
        }
        guard !files.isEmpty else { throw TopologyError(description: "no queue files (*.json) in \(directory)") }
        var queues: [QueueSpec] = []
        for file in files {
            do {
                let spec = try JSONDecoder().decode(QueueSpec.self, from: Data(contentsOf: file))
                try spec.validate()
                guard file.deletingPathExtension().lastPathComponent == spec.name else {
                    throw TopologyError(description: "describes queue '\(spec.name)'; name the file \(spec.name).json")
                }
                queues.append(spec)
            } catch let error as TopologyError {
                throw TopologyError(description: "\(file.lastPathComponent): \(error.description)")
            } catch let DecodingError.dataCorrupted(context) where context.underlyingError is TopologyError {
                throw TopologyError(description: "\(file.lastPathComponent): \(context.underlyingError!)")
            } catch {
                throw TopologyError(description: "\(file.lastPathComponent) is not a valid queue file: \(error)")
            }
        }
        let missing = Set(WorkQueue.allCases).subtracting(queues.map(\.queue)).sorted()
        guard missing.isEmpty else {
            throw TopologyError(
                description:
                    "no queue file for \(missing.map(\.rawValue).joined(separator: ", ")) in \(directory)")
        }
        return Topology(prefix: prefix, queues: queues, mode: mode)
    }

    /// The bands of a queue: two for a queue with priorities in quorum mode, else one.
    public func bands(_ queue: WorkQueue) -> [Band] {
        mode == .quorum && spec(queue).maxPriority != nil ? [.normal, .high] : [.normal]
    }

    /// Where a message of `priority` for `queue` is published on the work exchange.
    public func routingKey(_ queue: WorkQueue, priority: Int?) -> String {
        let band: Band = bands(queue).contains(.high) && (priority ?? 0) >= Band.highFrom ? .high : .normal
        return queue.rawValue + band.suffix
    }

    /// The spec of a queue.
    public func spec(_ queue: WorkQueue) -> QueueSpec {
        guard let spec = queues.first(where: { $0.queue == queue }) else {
            preconditionFailure("the topology has no \(queue.rawValue) queue; Topology.load requires every one")
        }
        return spec
    }

    /// The queue of a short name, for input from a person (`bullpen dlq list review`).
    public func queue(named name: String) throws -> WorkQueue {
        guard let queue = WorkQueue(rawValue: name), queues.contains(where: { $0.queue == queue }) else {
            throw TopologyError(
                description: "no queue named '\(name)' (known: \(queues.map(\.name).joined(separator: ", ")))")
        }
        return queue
    }

    // MARK: Names

    public var workExchange: String { "\(prefix).work" }
    public var retryExchange: String { "\(prefix).retry" }
    public var deadExchange: String { "\(prefix).dead" }
    public func workQueue(_ queue: WorkQueue, band: Band = .normal) -> String {
        "\(prefix).\(queue.rawValue)\(band.suffix)"
    }
    public func retryQueue(_ queue: WorkQueue, tier: Int, band: Band = .normal) -> String {
        "\(prefix).\(queue.rawValue)\(band.suffix).retry.\(tier)"
    }
    public func retryRoutingKey(_ queue: WorkQueue, tier: Int, band: Band = .normal) -> String {
        "\(queue.rawValue)\(band.suffix).retry.\(tier)"
    }
    public func deadQueue(_ queue: WorkQueue) -> String { "\(prefix).\(queue.rawValue).dead" }

    /// The arguments a work queue is declared with; the same every time, or the broker refuses (406).
    public func workQueueArguments(_ spec: QueueSpec) -> AMQPTable {
        var arguments: AMQPTable = [
            "x-dead-letter-exchange": .string(deadExchange),
            "x-dead-letter-routing-key": .string(spec.name),
        ]
        switch mode {
        case .classic:
            if let p = spec.maxPriority { arguments["x-max-priority"] = .int32(Int32(p)) }
        case .quorum:
            arguments.merge(quorumArguments) { $1 }
        }
        return arguments
    }

    /// A quorum queue that dead-letters at least once (the broker keeps a message until the dead-letter queue
    /// confirmed it; that needs publishers refused, not messages dropped, when the queue is full).
    private var quorumArguments: AMQPTable {
        [
            "x-queue-type": .string("quorum"), "x-dead-letter-strategy": .string("at-least-once"),
            "x-overflow": .string("reject-publish"),
        ]
    }

    /// Declares everything on `connection`. Declaring again with the same files is harmless.
    public func apply(on connection: AMQPConnection, channel: UInt16 = 1) throws {
        if !connection.openChannels.contains(channel) { try connection.openChannel(channel) }
        for exchange in [workExchange, retryExchange, deadExchange] {
            try connection.declareExchange(exchange, type: "direct", durable: true, channel: channel)
        }
        for spec in queues {
            for band in bands(spec.queue) {
                let work = workQueue(spec.queue, band: band)
                try connection.declareQueue(work, durable: true, arguments: workQueueArguments(spec), channel: channel)
                try connection.bindQueue(
                    work, exchange: workExchange, routingKey: spec.name + band.suffix, channel: channel)
                for (index, delay) in spec.retryDelaysSeconds.enumerated() {
                    let tier = index + 1
                    let queue = retryQueue(spec.queue, tier: tier, band: band)
                    var arguments: AMQPTable = [
                        "x-message-ttl": .int32(Int32(delay * 1000)),
                        "x-dead-letter-exchange": .string(workExchange),
                        "x-dead-letter-routing-key": .string(spec.name + band.suffix),
                    ]
                    if mode == .quorum { arguments.merge(quorumArguments) { $1 } }
                    try connection.declareQueue(queue, durable: true, arguments: arguments, channel: channel)
                    try connection.bindQueue(
                        queue, exchange: retryExchange, routingKey: retryRoutingKey(spec.queue, tier: tier, band: band),
                        channel: channel)
                }
            }
            let dead = deadQueue(spec.queue)
            try connection.declareQueue(
                dead, durable: true, arguments: mode == .quorum ? ["x-queue-type": .string("quorum")] : [:],
                channel: channel)
            try connection.bindQueue(dead, exchange: deadExchange, routingKey: spec.name, channel: channel)
        }
    }

    /// Deletes everything `apply` declared (used by tests to clean up their own prefix).
    public func remove(on connection: AMQPConnection, channel: UInt16 = 1) throws {
        if !connection.openChannels.contains(channel) { try connection.openChannel(channel) }
        for spec in queues {
            for band in bands(spec.queue) {
                try connection.deleteQueue(workQueue(spec.queue, band: band), channel: channel)
                for tier in spec.retryDelaysSeconds.indices {
                    try connection.deleteQueue(retryQueue(spec.queue, tier: tier + 1, band: band), channel: channel)
                }
            }
            try connection.deleteQueue(deadQueue(spec.queue), channel: channel)
        }
        for exchange in [workExchange, retryExchange, deadExchange] {
            try connection.deleteExchange(exchange, channel: channel)
        }
    }
}

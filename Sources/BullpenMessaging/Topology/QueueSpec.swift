import BullpenDomain
import Foundation

/// One work queue as described by its file in `Queues/`.
public struct QueueSpec: Sendable, Equatable {
    /// The queue; its name is also the routing key on the work exchange.
    public var queue: WorkQueue
    /// `x-max-priority`, or nil for a queue without priorities.
    public var maxPriority: Int?
    /// Delay before attempt n+1, for n = 1, 2 ...; one TTL queue per entry.
    public var retryDelaysSeconds: [Int]
    /// Deliveries before a message that keeps failing is parked.
    public var maxAttempts: Int

    public init(queue: WorkQueue, maxPriority: Int?, retryDelaysSeconds: [Int], maxAttempts: Int) {
        self.queue = queue
        self.maxPriority = maxPriority
        self.retryDelaysSeconds = retryDelaysSeconds
        self.maxAttempts = maxAttempts
    }

    /// The queue's short name: `review`.
    public var name: String { queue.rawValue }

    /// Checks the values a file may get wrong.
    public func validate() throws {
        if let p = maxPriority, !(1...255).contains(p) {
            throw TopologyError(description: "queue \(name): maxPriority must be 1...255 (Bullpen uses 5)")
        }
        guard retryDelaysSeconds.allSatisfy({ $0 > 0 }) else {
            throw TopologyError(description: "queue \(name): retry delays must be positive")
        }
        guard maxAttempts >= 1 else {
            throw TopologyError(description: "queue \(name): maxAttempts must be at least 1")
        }
    }
}

extension QueueSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, maxPriority, retryDelaysSeconds, maxAttempts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        guard let queue = WorkQueue(rawValue: name) else {
            throw TopologyError(
                description:
                    "'\(name)' is not one of Bullpen's work queues (\(WorkQueue.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self.init(
            queue: queue, maxPriority: try container.decodeIfPresent(Int.self, forKey: .maxPriority),
            retryDelaysSeconds: try container.decode([Int].self, forKey: .retryDelaysSeconds),
            maxAttempts: try container.decode(Int.self, forKey: .maxAttempts))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(maxPriority, forKey: .maxPriority)
        try container.encode(retryDelaysSeconds, forKey: .retryDelaysSeconds)
        try container.encode(maxAttempts, forKey: .maxAttempts)
    }
}

/// A topology file or declaration is wrong.
public struct TopologyError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

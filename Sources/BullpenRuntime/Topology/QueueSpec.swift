import Foundation

/// One work queue as described by a file in `Queues/`.
public struct QueueSpec: Sendable, Equatable, Codable {
    /// Short name: `review`. Also the routing key on the work exchange.
    public var name: String
    /// `x-max-priority`, or nil for a queue without priorities.
    public var maxPriority: Int?
    /// Delay before attempt n+1, for n = 1, 2 ...; one TTL queue per entry.
    public var retryDelaysSeconds: [Int]
    /// Deliveries before a message that keeps failing is parked.
    public var maxAttempts: Int

    public init(name: String, maxPriority: Int?, retryDelaysSeconds: [Int], maxAttempts: Int) {
        self.name = name
        self.maxPriority = maxPriority
        self.retryDelaysSeconds = retryDelaysSeconds
        self.maxAttempts = maxAttempts
    }

    /// Checks the values a file may get wrong.
    public func validate() throws {
        guard name.range(of: "^[a-z][a-z0-9_-]*$", options: .regularExpression) != nil else {
            throw TopologyError(description: "queue name '\(name)' must be lower-case letters, digits, - or _")
        }
        if let p = maxPriority, !(1...255).contains(p) {
            throw TopologyError(description: "queue \(name): maxPriority must be 1...255 (Bullpen uses 5)")
        }
        guard retryDelaysSeconds.allSatisfy({ $0 > 0 }) else {
            throw TopologyError(description: "queue \(name): retry delays must be positive")
        }
        guard maxAttempts >= 1 else { throw TopologyError(description: "queue \(name): maxAttempts must be at least 1") }
    }
}

/// A topology file or declaration is wrong.
public struct TopologyError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

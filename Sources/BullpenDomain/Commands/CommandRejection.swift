/// Why a command cannot apply to the rows as they are when a worker takes it: "task 42 is running, not
/// pending". The command is then rejected with this reason, not retried: the same rows give the same answer.
public struct CommandRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// The states a command goes through: accepted by ingest, then applied or rejected by a worker.
public enum CommandStatus: String, Choice {
    case accepted, applied, rejected

    public var isFinal: Bool { self != .accepted }
}

/// The states of a task: pending -> assigned -> running -> completed | failed.
public enum TaskStatus: String, Choice {
    case pending, assigned, running, completed, failed

    /// A task in a final state takes no further results.
    public var isFinal: Bool { self == .completed || self == .failed }
}

/// What can happen to a task.
public enum TaskEvent: Sendable, Equatable {
    /// An operator or the router picked an agent.
    case assign
    /// The assignment was withdrawn before the run started.
    case unassign
    /// The gateway accepted the run.
    case start
    /// The agent reported success.
    case complete
    /// The agent reported failure, the run ended in error, or dispatch gave up.
    case fail
    /// A failed task is queued again.
    case retry
    /// An operator withdrew a task that has not started; it fails with the operator's reason.
    case cancel
}

/// The task lifecycle as a state machine: the rules, with no I/O. The store turns an allowed transition
/// into a conditional update (`... WHERE id = $1 AND status = $from`), so a race loses cleanly.
public enum TaskLifecycle {
    /// Why a transition is refused.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public let from: TaskStatus
        public let event: TaskEvent
        public init(from: TaskStatus, event: TaskEvent) {
            self.from = from
            self.event = event
        }

        public var description: String { "a \(from.rawValue) task cannot \(event)" }
    }

    /// The state after `event`, or a refusal.
    public static func next(from status: TaskStatus, on event: TaskEvent) -> Result<TaskStatus, Refusal> {
        switch (status, event) {
        case (.pending, .assign): return .success(.assigned)
        case (.assigned, .unassign): return .success(.pending)
        case (.assigned, .start): return .success(.running)
        case (.assigned, .fail): return .success(.failed)  // dispatch gave up before the run started
        case (.running, .complete): return .success(.completed)
        case (.running, .fail): return .success(.failed)
        case (.failed, .retry): return .success(.pending)
        case (.pending, .cancel), (.assigned, .cancel): return .success(.failed)
        default: return .failure(Refusal(from: status, event: event))
        }
    }
}

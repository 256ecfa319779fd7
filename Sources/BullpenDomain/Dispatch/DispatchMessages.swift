/// Asks for a task to be dispatched (dispatch queue): from the `task.dispatch` command, or when a slot of
/// its agent frees up. The handler claims the task and opens its next attempt, or leaves it queued while the
/// agent is at capacity. A task that is no longer waiting for a dispatch makes it a no-op.
public struct DispatchRequest: BullpenMessage, Equatable {
    public static let name = "task.dispatch"
    public static let queue = WorkQueue.dispatch
    public static let schemaVersion = 1

    public var schema: Int
    public var taskId: Int64
    /// What asked for it: a command id, or `release:<attempt's run id>` for a freed slot.
    public var cause: String
    public var dispatchPriority: Int

    public init(taskId: Int64, cause: String, priority: Int) {
        schema = Self.schemaVersion
        self.taskId = taskId
        self.cause = cause
        dispatchPriority = priority
    }

    public var messageID: String { "dispatch:\(taskId):\(cause)" }
    public var priority: Int? { dispatchPriority }
}

/// Starts an attempt's run on the gateway (dispatch queue): sent after the attempt was opened and committed,
/// so its run id is on record before the gateway hears of it. Retried through the queue's delay tiers with
/// the same attempt and run id, so a run that did start is never started twice; parked after the last tier.
public struct RunStart: BullpenMessage, Equatable {
    public static let name = "task.run-start"
    public static let queue = WorkQueue.dispatch
    public static let schemaVersion = 1

    public var schema: Int
    public var taskId: Int64
    public var attempt: Int
    public var dispatchPriority: Int

    public init(taskId: Int64, attempt: Int, priority: Int) {
        schema = Self.schemaVersion
        self.taskId = taskId
        self.attempt = attempt
        dispatchPriority = priority
    }

    /// The gateway's idempotency key and run id: `bullpen-<task>-<attempt>`.
    public var runID: String { RunID.make(taskId: taskId, attempt: attempt) }
    public var messageID: String { "run-start:\(runID)" }
    public var priority: Int? { dispatchPriority }
}

/// Run ids are deterministic: `bullpen-<task>-<attempt>`.
public enum RunID {
    public static func make(taskId: Int64, attempt: Int) -> String { "bullpen-\(taskId)-\(attempt)" }

    /// The task and attempt of a run id Bullpen made; nil for any other.
    public static func parse(_ runID: String) -> (taskId: Int64, attempt: Int)? {
        let parts = runID.split(separator: "-")
        guard parts.count == 3, parts[0] == "bullpen", let task = Int64(parts[1]), let attempt = Int(parts[2]),
            task > 0, attempt > 0
        else { return nil }
        return (task, attempt)
    }

    /// The session key that isolates a task's runs on the gateway: `agent:<agentId>:bullpen:task-<id>`.
    public static func sessionKey(gatewayAgentID: String, taskId: Int64) -> String {
        "agent:\(gatewayAgentID):bullpen:task-\(taskId)"
    }
}

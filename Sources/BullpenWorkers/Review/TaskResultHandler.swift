import BullpenDomain
import BullpenRuntime
import BullpenStore
import PostgreSQL

/// Applies an agent's task result (review queue): the task goes running -> completed or failed by a
/// conditional update, its dispatch attempt closes, and an events row records it (one statement).
///
/// A result for a task that is not running that attempt (already settled, never started, or superseded by
/// a newer attempt) can never apply: it is parked with the reason, for an operator to look at.
public struct TaskResultHandler: BatchMessageHandler {
    public let messageType = TaskResultMessage.type

    public init() {}

    public func handle(_ message: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        let settlement = try Self.settlement(message)
        guard try TaskStore.settle(
            taskID: settlement.taskID, attempt: settlement.attempt, to: settlement.status, output: settlement.output,
            error: settlement.error,
            event: (settlement.eventType, settlement.eventMessage, settlement.eventDataJSON, settlement.messageID), in: tx
        ) != nil
        else {
            throw HandlerError.park(
                reason: try TaskStore.explainNotRunning(taskID: settlement.taskID, attempt: settlement.attempt, in: tx))
        }
        return .applied
    }

    /// The whole batch in one statement; any result that cannot apply sends the batch down the
    /// one-by-one path, where it is parked with its reason.
    public func handleBatch(_ messages: [InboundMessage], in tx: PGConnection) throws {
        let batch = try messages.map(Self.settlement)
        let settled = try TaskStore.settle(batch, in: tx)
        guard settled.count == batch.count else {
            throw HandlerError.park(reason: "\(batch.count - settled.count) result(s) of the batch cannot apply")
        }
    }

    /// Decodes a result and applies the lifecycle rule: running -> completed or failed.
    static func settlement(_ message: InboundMessage) throws -> TaskStore.Settlement {
        let result = try message.decode(TaskResultMessage.self)
        guard result.schema == TaskResultMessage.schemaVersion else {
            throw HandlerError.park(reason: "unknown schema version \(result.schema) of \(TaskResultMessage.type)")
        }
        let transition: TaskEvent = result.status == .completed ? .complete : .fail
        guard case .success(let target) = TaskLifecycle.next(from: .running, on: transition) else {
            throw HandlerError.park(reason: "the task lifecycle has no transition for \(transition)")
        }
        return TaskStore.Settlement(
            taskID: result.taskId, attempt: result.attempt, status: target, output: result.output, error: result.error,
            eventType: target == .completed ? "task.completed" : "task.failed",
            eventMessage: target == .completed
                ? "Task \(result.taskId) completed (attempt \(result.attempt))"
                : "Task \(result.taskId) failed (attempt \(result.attempt)): \(result.error ?? "")",
            eventDataJSON: #"{"attempt": \#(result.attempt), "outputBytes": \#(result.output?.utf8.count ?? 0)}"#,
            messageID: message.messageID)
    }
}

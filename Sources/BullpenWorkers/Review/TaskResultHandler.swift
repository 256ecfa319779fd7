import BullpenDomain
import BullpenRuntime
import BullpenStore
import PostgreSQL

/// Applies an agent's task result (review queue): the task goes running -> completed or failed by a
/// conditional update, its dispatch attempt closes, and an events row records it (one statement).
///
/// A result for a task that is not running that attempt (already settled, never started, or superseded by
/// a newer attempt) can never apply: it is parked with the reason, for an operator to look at.
public struct TaskResultHandler: MessageHandler {
    public let messageType = TaskResultMessage.type

    public init() {}

    public func handle(_ message: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        let result = try message.decode(TaskResultMessage.self)
        guard result.schema == TaskResultMessage.schemaVersion else {
            throw HandlerError.park(reason: "unknown schema version \(result.schema) of \(TaskResultMessage.type)")
        }
        let transition: TaskEvent = result.status == .completed ? .complete : .fail
        guard case .success(let target) = TaskLifecycle.next(from: .running, on: transition) else {
            throw HandlerError.park(reason: "the task lifecycle has no transition for \(transition)")
        }
        let event = (
            type: target == .completed ? "task.completed" : "task.failed",
            message: target == .completed
                ? "Task \(result.taskId) completed (attempt \(result.attempt))"
                : "Task \(result.taskId) failed (attempt \(result.attempt)): \(result.error ?? "")",
            dataJSON: #"{"attempt": \#(result.attempt), "outputBytes": \#(result.output?.utf8.count ?? 0)}"#,
            messageID: message.messageID)
        guard try TaskStore.settle(
            taskID: result.taskId, attempt: result.attempt, to: target, output: result.output, error: result.error,
            event: event, in: tx) != nil
        else {
            throw HandlerError.park(reason: try TaskStore.explainNotRunning(taskID: result.taskId, attempt: result.attempt, in: tx))
        }
        return .applied
    }
}

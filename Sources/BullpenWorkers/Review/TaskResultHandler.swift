import BullpenDomain
import BullpenMessaging
import BullpenStore
import PostgreSQL

/// Applies an agent's task result (review queue): the task moves running -> completed or failed as the task
/// lifecycle says, its dispatch attempt closes, and an events row records it (one statement); a completed
/// task's work becomes the next deliverable version, in review, and the operators are told; last, the run
/// counts in its agent's statistics.
///
/// A result for a task that is not running that attempt (already settled, never started, or superseded by
/// a newer attempt) can never apply: it is parked with the reason, for an operator to look at. What the
/// closed attempt frees (a retry, the agent's slot, dependent tasks) goes out in the same transaction.
public struct TaskResultHandler: BatchMessageHandler {
    public typealias Message = TaskResultMessage
    /// Dispatch the tasks a completion releases.
    let autoDispatch: Bool

    public init(autoDispatch: Bool = false) { self.autoDispatch = autoDispatch }

    public func handle(
        _ result: TaskResultMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws -> HandlerResult {
        let settlement = try Self.settlement(result, inbound)
        let settled = try TaskStore.settle([settlement], in: tx)
        guard settled.tasks.count == 1 else {
            throw HandlerError.park(reason: try TaskStore.explainRefusal(settlement, in: tx))
        }
        if result.status == .completed {
            try Self.openReview(settled.tasks, results: [result], messageID: inbound.messageID, in: tx)
        }
        try SlotRelease.release(
            closedTasks: settled.tasks, failed: result.status == .failed ? [result.taskId] : [],
            autoDispatch: autoDispatch, messageID: inbound.messageID, in: tx)
        try ProjectStatusWriter.settle(ofTasks: settled.tasks, messageID: inbound.messageID, in: tx)
        try TaskStore.countRuns(settled.runs, in: tx)
        return .applied
    }

    /// Completed tasks' work becomes the next deliverable version, in review, with the files the agent made;
    /// the operators are told.
    static func openReview(
        _ completed: Set<Int64>, results: [TaskResultMessage], messageID: String, in tx: PGConnection
    ) throws {
        let opened = try DeliverableStore.openVersions(completed: completed, messageID: messageID, in: tx)
        let artifacts = Dictionary(
            results.compactMap { result in result.artifacts.map { (result.taskId, $0) } },
            uniquingKeysWith: { a, _ in a })
        for version in opened {
            for artifact in artifacts[version.taskID] ?? [] {
                try DeliverableStore.attach(artifact.file(of: version.id), messageID: messageID, in: tx)
            }
        }
        try Notify.enqueue(
            opened.map { opened in
                Notify.operatorAlert(
                    .reviewWaiting, cause: String(opened.id), taskID: opened.taskID, projectID: opened.projectID,
                    data: [
                        "deliverableId": String(opened.id), "title": opened.title, "version": String(opened.version),
                        "taskId": String(opened.taskID),
                    ])
            }, priority: 3, in: tx)
    }

    /// The whole batch in one statement; any result that cannot apply sends the batch down the
    /// one-by-one path, where it is parked with its reason.
    public func handleBatch(
        _ messages: [(message: TaskResultMessage, inbound: InboundMessage)], in tx: PGConnection
    ) throws {
        let batch = try messages.map { try Self.settlement($0.message, $0.inbound) }
        let settled = try TaskStore.settle(batch, in: tx)
        guard settled.tasks.count == batch.count else {
            throw HandlerError.park(reason: "\(batch.count - settled.tasks.count) result(s) of the batch cannot apply")
        }
        let failed = messages.filter { $0.message.status == .failed }.map(\.message.taskId)
        try Self.openReview(
            settled.tasks.subtracting(failed), results: messages.map(\.message),
            messageID: messages[0].inbound.messageID,
            in: tx)
        try SlotRelease.release(
            closedTasks: settled.tasks, failed: failed, autoDispatch: autoDispatch,
            messageID: messages[0].inbound.messageID, in: tx)
        try ProjectStatusWriter.settle(ofTasks: settled.tasks, messageID: messages[0].inbound.messageID, in: tx)
        // Last: the agents' rows are held from here to the commit only.
        try TaskStore.countRuns(settled.runs, in: tx)
    }

    /// The lifecycle's transition for a result: a running task completes or fails.
    static func settlement(_ result: TaskResultMessage, _ inbound: InboundMessage) throws -> TaskStore.Settlement {
        let event: TaskEvent = result.status == .completed ? .complete : .fail
        let from = TaskStatus.running
        guard case .success(let target) = TaskLifecycle.next(from: from, on: event) else {
            throw HandlerError.park(reason: "the task lifecycle has no transition for \(event) from \(from.rawValue)")
        }
        return TaskStore.Settlement(
            taskID: result.taskId, attempt: result.attempt, from: from, to: target, output: result.output,
            error: result.error, eventType: "task.\(target.rawValue)",
            eventMessage: target == .completed
                ? "Task \(result.taskId) completed (attempt \(result.attempt))"
                : "Task \(result.taskId) failed (attempt \(result.attempt)): \(result.error ?? "")",
            messageID: inbound.messageID)
    }
}

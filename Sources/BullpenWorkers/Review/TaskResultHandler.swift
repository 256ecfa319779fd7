import BullpenDomain
import BullpenMessaging
import BullpenStore
import PostgreSQL

/// Applies agents' task results (review queue), a batch at a time, in three steps: the store loads what the
/// decision reads (``ResultEffects/load(_:in:)``), ``ResultDecider`` decides (pure), and the
/// store performs the plan in one statement (``ResultEffects/perform(_:outbox:in:)``). A result for a task
/// that is not running that attempt (already settled, never started, superseded) can never apply: it is
/// parked with the decider's reason, for an operator to look at.
public struct TaskResultHandler: BatchMessageHandler {
    public typealias Message = TaskResultMessage
    /// Dispatch the tasks a completion releases.
    let autoDispatch: Bool

    public init(autoDispatch: Bool = false) { self.autoDispatch = autoDispatch }

    public func handle(
        _ result: TaskResultMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws -> HandlerResult {
        try apply([result], in: tx)
        return .applied
    }

    /// The whole batch at once; any result that cannot apply sends the batch down the one-by-one path, where
    /// it is parked with its reason.
    public func handleBatch(
        _ messages: [(message: TaskResultMessage, inbound: InboundMessage)], in tx: PGConnection
    ) throws {
        try apply(messages.map(\.message), in: tx)
    }

    /// Loads, decides and performs `results` in the caller's transaction (the benchmark's baseline runs this
    /// straight, without the broker).
    public func apply(_ results: [TaskResultMessage], in tx: PGConnection) throws {
        let plan = ResultDecider.decide(results, try ResultEffects.load(results, in: tx))
        if let refusal = plan.refusals.first {
            throw HandlerError.park(
                reason: results.count == 1
                    ? refusal.reason : "\(plan.refusals.count) result(s) of the batch cannot apply")
        }
        let settled = try ResultEffects.perform(plan, outbox: try Self.outbox(plan), in: tx)
        guard settled == plan.settlements.count else {
            // A task moved between the snapshot and the write (a cancel, a timeout): the plan no longer holds.
            throw HandlerError.retryLater(
                reason: "\(plan.settlements.count - settled) task(s) changed while their results were applied")
        }
        // The files the agents made, attached to the versions the plan opened (ids known before the write).
        let artifacts = Dictionary(
            results.compactMap { result in result.artifacts.map { (result.taskId, ($0, result.messageID)) } },
            uniquingKeysWith: { a, _ in a })
        for version in plan.versions {
            guard let (files, messageID) = artifacts[version.taskID] else { continue }
            for artifact in files {
                try DeliverableStore.attach(artifact.file(of: version.id), messageID: messageID, in: tx)
            }
        }
        if autoDispatch, !plan.releasedPending.isEmpty {
            try AutoDispatch.dispatch(plan.releasedPending, messageID: results[0].messageID, in: tx)
        }
    }

    /// The plan's messages as outbox rows: each notification's send (only if the notification is written), and
    /// the dispatches it asks for.
    public static func outbox(_ plan: ResultDecider.Plan) throws -> [ResultEffects.OutboxRow] {
        try plan.notifications.map { planned in
            let message = NotificationMessage(notificationId: planned.id, priority: planned.priority)
            return try row(message, notificationID: planned.id)
        } + plan.dispatches.map { try row($0) }
    }

    private static func row<Message: BullpenMessage>(
        _ message: Message, notificationID: Int64? = nil
    ) throws -> ResultEffects.OutboxRow {
        .init(
            messageID: message.messageID, queue: Message.queue.rawValue, type: Message.name,
            priority: message.priority, body: try Envelope.body(message), notificationID: notificationID)
    }
}

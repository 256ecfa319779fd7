import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

extension NewTask: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        RowOutcome("taskId", try TaskPlanning.create(self, messageID: context.messageID, now: context.now, in: tx))
    }
}

extension TaskSplit: AppliedCommand {
    struct Outcome: Encodable {
        /// The new tasks by their key in the plan.
        let taskIds: [String: Int64]
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        Outcome(taskIds: try TaskPlanning.split(self, messageID: context.messageID, now: context.now, in: tx))
    }
}

extension TaskAssignment: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try TaskPlanning.assign(self, messageID: context.messageID, in: tx)
        return RowOutcome("taskId", id)
    }
}

extension TaskCancellation: AppliedCommand {
    struct Outcome: Encodable {
        let taskId: Int64
        /// The open tasks that depended on it, cancelled with it.
        let cancelledWith: [Int64]
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        Outcome(taskId: id, cancelledWith: try TaskPlanning.cancel(self, messageID: context.messageID, in: tx).sorted())
    }
}

extension TaskRetry: AppliedCommand {
    struct Outcome: Encodable {
        let taskId: Int64
        /// The tasks pending again.
        let pending: [Int64]
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        Outcome(taskId: id, pending: try TaskPlanning.retry(self, messageID: context.messageID, in: tx))
    }
}

extension TaskDispatch: AppliedCommand {
    struct Outcome: Encodable {
        let taskId: Int64
        let agentId: Int64
        let priority: Int
    }

    /// The dispatch request, sent through the outbox with the decision.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        let requested = try TaskDispatching.request(self, messageID: context.messageID, now: context.now, in: tx)
        try Outbox.enqueue(
            DispatchRequest(taskId: requested.taskID, cause: context.messageID, priority: requested.priority), in: tx)
        return Outcome(taskId: requested.taskID, agentId: requested.agentID, priority: requested.priority)
    }
}

extension TaskAgentMessage: AppliedCommand {
    struct Outcome: Encodable {
        let taskId: Int64
        let attempt: Int
        /// Names the message in the session's transcript.
        let ref: String
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        let request = try TaskSessions.message(self, messageID: context.messageID, in: tx)
        try Outbox.enqueue(request, in: tx)
        return Outcome(taskId: id, attempt: request.attempt, ref: request.ref)
    }
}

extension TaskAbort: AppliedCommand {
    struct Outcome: Encodable {
        let taskId: Int64
        let attempt: Int
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        let (result, request) = try TaskSessions.abort(self, messageID: context.messageID, now: context.now, in: tx)
        try Outbox.enqueue(result, in: tx)
        try Outbox.enqueue(request, in: tx)
        return Outcome(taskId: id, attempt: request.attempt)
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// A review decision: the deliverable's status, and whether its project is now delivered.
struct DecisionOutcome: Encodable {
    let deliverableId: Int64
    let status: String
    let projectDelivered: Bool?
}

extension DeliverableApproval: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> DecisionOutcome {
        let decided = try DeliverableStore.decide(
            id: id, deliver: false, reviewer: "operator", notes: notes, messageID: context.messageID, now: context.now,
            in: tx)
        return DecisionOutcome(deliverableId: decided.id, status: decided.status.rawValue, projectDelivered: nil)
    }
}

extension DeliverableDelivery: AppliedCommand {
    /// Delivered, and the client told it is ready.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> DecisionOutcome {
        let decided = try DeliverableStore.decide(
            id: id, deliver: true, reviewer: "operator", notes: notes, messageID: context.messageID, now: context.now,
            in: tx)
        if let clientID = decided.clientID {
            try Notify.client(
                .deliverableReady, cause: String(decided.id), clientID: clientID, email: decided.clientEmail,
                projectID: decided.projectID, taskID: decided.taskID,
                data: ["deliverableId": String(decided.id), "title": decided.title], in: tx)
        }
        return DecisionOutcome(
            deliverableId: decided.id, status: decided.status.rawValue, projectDelivered: decided.projectDelivered)
    }
}

extension DeliverableRevisionRequest: AppliedCommand {
    /// The task reworked and dispatched; a revision of a version the client saw tells the client it is in
    /// progress.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> ReworkOutcome {
        let reworked = try DeliverableStore.requestRevision(
            self, clientID: context.clientID, messageID: context.messageID, now: context.now, in: tx)
        if reworked.wasDelivered, let round = reworked.revisionRound {
            try Notify.client(
                .revisionInProgress, cause: "\(reworked.deliverableID):\(round)", clientID: reworked.clientID,
                email: reworked.clientEmail, projectID: reworked.projectID, taskID: reworked.taskID,
                data: [
                    "deliverableId": String(reworked.deliverableID), "title": reworked.title, "round": String(round),
                ], in: tx)
        }
        return try ReworkOutcome(reworked, messageID: context.messageID, in: tx)
    }
}

extension DeliverableRejection: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> ReworkOutcome {
        let reworked = try DeliverableStore.reject(self, messageID: context.messageID, now: context.now, in: tx)
        return try ReworkOutcome(reworked, messageID: context.messageID, in: tx)
    }
}

/// A deliverable sent back to work: its task, and whether it was dispatched again (its dispatch request sent
/// through the outbox with the decision) or why not.
struct ReworkOutcome: Encodable {
    let deliverableId: Int64
    let status: String
    let taskId: Int64
    let agentId: Int64?
    let dispatched: Bool
    let notDispatched: String?
    let revisionRound: Int?

    init(_ reworked: DeliverableStore.Reworked, messageID: String, in tx: PGConnection) throws {
        if let dispatch = reworked.dispatch {
            try Outbox.enqueue(
                DispatchRequest(taskId: dispatch.taskID, cause: messageID, priority: dispatch.priority), in: tx)
        }
        deliverableId = reworked.deliverableID
        status = reworked.status.rawValue
        taskId = reworked.taskID
        agentId = reworked.dispatch?.agentID
        dispatched = reworked.dispatch != nil
        notDispatched = reworked.notDispatched
        revisionRound = reworked.revisionRound
    }
}

extension DeliverableFeedback: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        guard let clientID = context.clientID else { throw CommandRejection("feedback is the client's to give") }
        _ = try DeliverableStore.feedback(self, clientID: clientID, messageID: context.messageID, in: tx)
        return RowOutcome("deliverableId", id)
    }
}

extension DeliverableFile: AppliedCommand {
    struct Outcome: Encodable {
        let deliverableId: Int64
        let fileId: String
    }

    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        try DeliverableStore.attach(self, messageID: context.messageID, in: tx)
        return Outcome(deliverableId: id, fileId: fileId)
    }
}

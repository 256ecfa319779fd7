import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// Applies operator commands (command queue): the effect, its events row and the command's status commit in one
/// transaction, with the inbox row the runtime adds.
///
/// A command that cannot apply to the rows as they are (``CommandRejection``: "task 42 is running, not
/// pending") is rejected: its effect is rolled back to a savepoint and the command row records the reason.
/// Retrying would give the same answer, so it is not retried. Any other failure (the database went away) is
/// the runtime's to retry.
public struct CommandHandler: MessageHandler {
    public typealias Message = CommandMessage

    public init() {}

    public func handle(
        _ message: CommandMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        switch try CommandStore.lock(id: message.commandId, in: tx) {
        case .some(let status) where status.isFinal:
            return .duplicate
        case .some:
            break
        case .none:
            try CommandStore.insertAccepted(
                CommandStore.Record(
                    id: message.commandId, kind: message.command.kind, tokenID: message.tokenId,
                    payload: String(decoding: try message.command.payloadJSON(), as: UTF8.self)),
                in: tx)
        }
        try tx.execute("SAVEPOINT command")
        do {
            let result = try Self.apply(
                message.command, clientID: message.clientId, messageID: inbound.messageID, now: Date(), in: tx)
            try tx.execute("RELEASE SAVEPOINT command")
            try CommandStore.markApplied(id: message.commandId, result: result, in: tx)
        } catch let rejection as CommandRejection {
            try tx.execute("ROLLBACK TO SAVEPOINT command")
            try CommandStore.markRejected(id: message.commandId, reason: rejection.reason, in: tx)
        } catch let error as PGError where error.isConstraintViolation {
            // A rule of the schema that validation did not foresee: the same rows give the same answer, so the
            // command is rejected (with the constraint's name), not parked or retried.
            try tx.execute("ROLLBACK TO SAVEPOINT command")
            try CommandStore.markRejected(
                id: message.commandId, reason: "the command breaks a rule of the database: \(error.constraintSummary)",
                in: tx)
        }
        return .applied
    }

    /// Applies one command (`clientID`: a client's, on its own rows); returns its result as a JSON object's
    /// text (the ids it created or changed).
    static func apply(
        _ command: OperatorCommand, clientID: Int64? = nil, messageID: String, now: Date, in tx: PGConnection
    ) throws -> String {
        if clientID != nil, command.kind.issuers == .operators {
            throw CommandRejection("\(command.kind.rawValue) is not a client's command")
        }
        switch command {
        case .clientCreate(let new):
            return result("clientId", try ClientStore.create(new, messageID: messageID, in: tx))
        case .clientUpdate(let changes):
            try ClientStore.update(changes, messageID: messageID, in: tx)
            return result("clientId", changes.id)
        case .projectCreate(let new):
            let id = try ProjectStore.create(new, messageID: messageID, now: now, in: tx)
            try Notify.client(
                .projectUnderway, cause: String(id), clientID: new.clientId,
                email: try ClientStore.email(of: new.clientId, in: tx), projectID: id, taskID: nil,
                data: ["projectId": String(id), "title": new.name], priority: 3, in: tx)
            return result("projectId", id)
        case .projectUpdate(let changes):
            try ProjectStore.update(changes, messageID: messageID, in: tx)
            return result("projectId", changes.id)
        case .projectArchive(let archival):
            try ProjectStore.archive(archival, messageID: messageID, in: tx)
            return result("projectId", archival.id)
        case .taskCreate(let new):
            return result("taskId", try TaskPlanning.create(new, messageID: messageID, now: now, in: tx))
        case .taskSplit(let split):
            let ids = try TaskPlanning.split(split, messageID: messageID, now: now, in: tx)
            return String(decoding: try JSONBody.encode(["taskIds": ids]), as: UTF8.self)
        case .taskAssign(let assignment):
            try TaskPlanning.assign(assignment, messageID: messageID, in: tx)
            return result("taskId", assignment.id)
        case .taskCancel(let cancellation):
            let dependents = try TaskPlanning.cancel(cancellation, messageID: messageID, in: tx)
            return "{\"taskId\": \(cancellation.id), \"cancelledWith\": \(dependents.sorted())}"
        case .taskRetry(let retry):
            let restored = try TaskPlanning.retry(retry, messageID: messageID, in: tx)
            return "{\"taskId\": \(retry.id), \"pending\": \(restored)}"
        case .taskDispatch(let dispatch):
            let requested = try TaskDispatching.request(dispatch, messageID: messageID, now: now, in: tx)
            try Outbox.enqueue(
                DispatchRequest(taskId: requested.taskID, cause: messageID, priority: requested.priority), in: tx)
            return
                "{\"taskId\": \(requested.taskID), \"agentId\": \(requested.agentID), \"priority\": \(requested.priority)}"
        case .agentRegister(let new):
            return result("agentId", try AgentStore.register(new, messageID: messageID, in: tx))
        case .agentUpdate(let changes):
            try AgentStore.update(changes, messageID: messageID, in: tx)
            return result("agentId", changes.id)
        case .agentConfigure(let configuration):
            return result("agentConfigId", try AgentStore.configure(configuration, messageID: messageID, in: tx))
        case .agentSetOffline(let offline):
            try AgentStore.setOffline(offline, messageID: messageID, in: tx)
            return result("agentId", offline.id)
        case .agentSetStatus(let change):
            try AgentStore.setStatus(change, messageID: messageID, in: tx)
            return result("agentId", change.id)
        case .leadUpdate(let changes):
            try LeadStore.update(changes, messageID: messageID, in: tx)
            return result("leadId", changes.id)
        case .deadLetterReplay(let replay):
            let resolution = try DeadLetters.replay(ids: replay.ids, now: now, in: tx)
            return try result(["replayed": resolution.resolved, "notParked": resolution.notParked])
        case .deadLetterPurge(let purge):
            let resolution = try DeadLetters.purge(ids: purge.ids, queue: purge.queue, in: tx)
            return try result(["purged": resolution.resolved, "notParked": resolution.notParked])
        case .deliverableApprove(let approval):
            let decided = try DeliverableStore.decide(
                id: approval.id, deliver: false, reviewer: "operator", notes: approval.notes, messageID: messageID,
                now: now, in: tx)
            return "{\"deliverableId\": \(decided.id), \"status\": \"\(decided.status.rawValue)\"}"
        case .deliverableDeliver(let delivery):
            let decided = try DeliverableStore.decide(
                id: delivery.id, deliver: true, reviewer: "operator", notes: delivery.notes, messageID: messageID,
                now: now, in: tx)
            if let clientID = decided.clientID {
                try Notify.client(
                    .deliverableReady, cause: String(decided.id), clientID: clientID, email: decided.clientEmail,
                    projectID: decided.projectID, taskID: decided.taskID,
                    data: ["deliverableId": String(decided.id), "title": decided.title], in: tx)
            }
            return
                "{\"deliverableId\": \(decided.id), \"status\": \"\(decided.status.rawValue)\", \"projectDelivered\": \(decided.projectDelivered)}"
        case .deliverableRequestRevision(let request):
            let reworked = try DeliverableStore.requestRevision(
                request, clientID: clientID, messageID: messageID, now: now, in: tx)
            try revisionStarted(reworked, in: tx)
            return try dispatched(reworked, messageID: messageID, in: tx)
        case .deliverableReject(let rejection):
            let reworked = try DeliverableStore.reject(rejection, messageID: messageID, now: now, in: tx)
            return try dispatched(reworked, messageID: messageID, in: tx)
        case .deliverableFeedback(let feedback):
            guard let clientID else { throw CommandRejection("feedback is the client's to give") }
            _ = try DeliverableStore.feedback(feedback, clientID: clientID, messageID: messageID, in: tx)
            return result("deliverableId", feedback.id)
        case .deliverableAttachFile(let file):
            try DeliverableStore.attach(file, messageID: messageID, in: tx)
            return "{\"deliverableId\": \(file.id), \"fileId\": \"\(file.fileId)\"}"
        case .projectMessage(let message):
            let posted = try ClientThread.post(
                message, from: clientID.map(ClientThread.Sender.client) ?? .operator, messageID: messageID, now: now,
                in: tx)
            try told(posted, message, fromClient: clientID != nil, in: tx)
            return result("messageId", posted.id)
        }
    }

    /// A client's message alerts the operators; an operator's answer emails the client.
    static func told(
        _ posted: ClientThread.Posted, _ message: ProjectMessage, fromClient: Bool, in tx: PGConnection
    )
        throws
    {
        let data = [
            "title": posted.projectName, "projectId": String(posted.projectID),
            "body": String(message.body.prefix(2000)),
        ]
        if fromClient {
            try Notify.operators(
                .clientMessage, cause: String(posted.id), taskID: nil, projectID: posted.projectID, data: data,
                priority: 4, in: tx)
        } else {
            try Notify.client(
                .newMessage, cause: String(posted.id), clientID: posted.clientID, email: posted.clientEmail,
                projectID: posted.projectID, taskID: nil, data: data, in: tx)
        }
    }

    /// A revision of a version the client saw: the client is told it is in progress.
    static func revisionStarted(_ reworked: DeliverableStore.Reworked, in tx: PGConnection) throws {
        guard reworked.wasDelivered, let round = reworked.revisionRound else { return }
        try Notify.client(
            .revisionInProgress, cause: "\(reworked.deliverableID):\(round)", clientID: reworked.clientID,
            email: reworked.clientEmail, projectID: reworked.projectID, taskID: reworked.taskID,
            data: ["deliverableId": String(reworked.deliverableID), "title": reworked.title, "round": String(round)],
            in: tx)
    }

    /// Sends the new task's dispatch request (written with the decision), and says what was done.
    static func dispatched(
        _ reworked: DeliverableStore.Reworked, messageID: String, in tx: PGConnection
    ) throws -> String {
        if let dispatch = reworked.dispatch {
            try Outbox.enqueue(
                DispatchRequest(taskId: dispatch.taskID, cause: messageID, priority: dispatch.priority), in: tx)
        }
        struct Outcome: Encodable {
            let deliverableId: Int64
            let status: String
            let taskId: Int64
            let agentId: Int64?
            let dispatched: Bool
            let notDispatched: String?
            let revisionRound: Int?
        }
        return String(
            decoding: try JSONBody.encode(
                Outcome(
                    deliverableId: reworked.deliverableID, status: reworked.status.rawValue, taskId: reworked.taskID,
                    agentId: reworked.dispatch?.agentID, dispatched: reworked.dispatch != nil,
                    notDispatched: reworked.notDispatched, revisionRound: reworked.revisionRound)),
            as: UTF8.self)
    }

    private static func result(_ key: String, _ id: Int64) -> String { "{\"\(key)\": \(id)}" }

    private static func result(_ lists: [String: [Int64]]) throws -> String {
        String(decoding: try JSONBody.encode(lists), as: UTF8.self)
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

extension NewProject: AppliedCommand {
    /// The project, and the client told it is under way.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        let id = try ProjectStore.create(self, messageID: context.messageID, now: context.now, in: tx)
        try Notify.client(
            .projectUnderway, cause: String(id), clientID: clientId,
            email: try ClientStore.email(of: clientId, in: tx), projectID: id, taskID: nil,
            data: ["projectId": String(id), "title": name], priority: 3, in: tx)
        return RowOutcome("projectId", id)
    }
}

extension ProjectBrief: AppliedCommand {
    /// A project of the caller's client on its current plan (refused, saying so, when it has none), the client
    /// told it is under way and the operators that there is a brief to plan.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        guard let clientID = context.clientID else { throw CommandRejection("only a client sends a brief") }
        guard let subscription = try ProjectStore.currentSubscription(of: clientID, in: tx) else {
            throw CommandRejection("a new brief needs a plan: choose one on your home page first")
        }
        let id = try ProjectStore.create(
            NewProject(
                clientId: clientID, name: name, type: type ?? "brief", brief: brief, deadline: deadline,
                subscriptionId: subscription),
            messageID: context.messageID, now: context.now, in: tx)
        try Notify.client(
            .projectUnderway, cause: String(id), clientID: clientID, email: try ClientStore.email(of: clientID, in: tx),
            projectID: id, taskID: nil, data: ["projectId": String(id), "title": name], priority: 3, in: tx)
        try Notify.operators(
            .newBrief, cause: String(id), taskID: nil, projectID: id,
            data: ["projectId": String(id), "title": name, "brief": String(brief.prefix(2000))], priority: 3, in: tx)
        return RowOutcome("projectId", id)
    }
}

extension ProjectEscalation: AppliedCommand {
    struct Outcome: Encodable {
        let projectId: Int64
        let tasksRaised: Int
    }

    /// The project's open work raised to Critical, each task with the reason.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome {
        let (status, _) = try ProjectStore.lockForEscalation(id, in: tx)
        guard status != .archived else {
            throw CommandRejection("project \(id) is archived; there is nothing to raise")
        }
        return Outcome(
            projectId: id, tasksRaised: try TaskEscalation.client(self, messageID: context.messageID, in: tx))
    }
}

extension ProjectChanges: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try ProjectStore.update(self, messageID: context.messageID, in: tx)
        return RowOutcome("projectId", id)
    }
}

extension ProjectArchival: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try ProjectStore.archive(self, messageID: context.messageID, in: tx)
        return RowOutcome("projectId", id)
    }
}

extension ProjectMessage: AppliedCommand {
    /// On the project's thread, and its readers told.
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        let posted = try ClientThread.post(
            self, from: context.clientID.map(ClientThread.Sender.client) ?? .operator, messageID: context.messageID,
            now: context.now, in: tx)
        try Self.told(posted, body: body, fromClient: context.clientID != nil, in: tx)
        return RowOutcome("messageId", posted.id)
    }

    /// A client's message (from the portal or Slack) alerts the operators; an operator's answer emails the client.
    static func told(_ posted: ClientThread.Posted, body: String, fromClient: Bool, in tx: PGConnection) throws {
        let data = [
            "title": posted.projectName, "projectId": String(posted.projectID), "body": String(body.prefix(2000)),
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
}

extension TimeEntryNew: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        RowOutcome("timeEntryId", try TimeEntries.add(self, now: context.now, messageID: context.messageID, in: tx))
    }
}

import Foundation

/// Every operator command, by the name it is stored and published under (`commands.kind`).
public enum CommandKind: String, Choice {
    case clientCreate = "client.create"
    case clientUpdate = "client.update"
    case projectCreate = "project.create"
    case projectUpdate = "project.update"
    case projectArchive = "project.archive"
    case taskCreate = "task.create"
    case taskSplit = "task.split"
    case taskAssign = "task.assign"
    case taskCancel = "task.cancel"
    case taskRetry = "task.retry"
    case taskDispatch = "task.dispatch"
    case agentRegister = "agent.register"
    case agentUpdate = "agent.update"
    case agentSetOffline = "agent.set_offline"
    case agentSetStatus = "agent.set_status"
    case agentConfigure = "agent.configure"
    case deadLetterReplay = "dead_letter.replay"
    case deadLetterPurge = "dead_letter.purge"
    case deliverableApprove = "deliverable.approve"
    case deliverableDeliver = "deliverable.deliver"
    case deliverableRequestRevision = "deliverable.request_revision"
    case deliverableReject = "deliverable.reject"
    case deliverableFeedback = "deliverable.feedback"
    case projectMessage = "project.message"
    case deliverableAttachFile = "deliverable.attach_file"
    case leadUpdate = "lead.update"
}

/// The body of one kind of command: decoded from the request (its `CodingKeys` are the fields a request may
/// send), checked by ``validate()`` before anything is published, carried in the command message.
public protocol CommandPayload: Codable, Sendable, Equatable {
    associatedtype CodingKeys: CodingKey & CaseIterable & RawRepresentable<String>
    static var kind: CommandKind { get }
    /// Shape and range checks that need no database, each naming its field.
    func validate() throws(ValidationError)
    /// The rows the command names, which must exist (and be visible to the caller) when it is accepted.
    var references: [Reference] { get }
}

extension CommandPayload {
    public var references: [Reference] { [] }

    /// The request body's fields.
    public static var fields: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// Decodes and validates a request body; `pathID` is the id from the request's path, for commands on one row.
    public static func parse(_ body: [UInt8], pathID: Int64? = nil) throws(ValidationError) -> Self {
        let payload = try JSONBody.decode(
            Self.self, from: body, allowedFields: fields.subtracting(pathID == nil ? [] : ["id"]),
            adding: pathID.map { ["id": $0] } ?? [:])
        try payload.validate()
        return payload
    }
}

/// A row a command refers to by id.
public struct Reference: Sendable, Equatable, Hashable {
    public enum Noun: String, Sendable, CaseIterable {
        case client, project, task, agent, subscription, deliverable, lead
        case deadLetter = "dead letter"
    }

    public let noun: Noun
    public let id: Int64
    /// The request field that named it.
    public let field: String

    public init(_ noun: Noun, _ id: Int64, field: String) {
        self.noun = noun
        self.id = id
        self.field = field
    }
}

/// One operator command, typed: what a command message carries and a worker applies.
public enum OperatorCommand: Sendable, Equatable {
    case clientCreate(NewClient)
    case clientUpdate(ClientChanges)
    case projectCreate(NewProject)
    case projectUpdate(ProjectChanges)
    case projectArchive(ProjectArchival)
    case taskCreate(NewTask)
    case taskSplit(TaskSplit)
    case taskAssign(TaskAssignment)
    case taskCancel(TaskCancellation)
    case taskRetry(TaskRetry)
    case taskDispatch(TaskDispatch)
    case agentRegister(NewAgent)
    case agentUpdate(AgentChanges)
    case agentSetOffline(AgentOffline)
    case agentSetStatus(AgentStatusChange)
    case agentConfigure(AgentConfiguration)
    case deadLetterReplay(DeadLetterReplay)
    case deadLetterPurge(DeadLetterPurge)
    case deliverableApprove(DeliverableApproval)
    case deliverableDeliver(DeliverableDelivery)
    case deliverableRequestRevision(DeliverableRevisionRequest)
    case deliverableReject(DeliverableRejection)
    case deliverableFeedback(DeliverableFeedback)
    case projectMessage(ProjectMessage)
    case deliverableAttachFile(DeliverableFile)
    case leadUpdate(LeadChanges)

    public var payload: any CommandPayload {
        switch self {
        case .clientCreate(let p): return p
        case .clientUpdate(let p): return p
        case .projectCreate(let p): return p
        case .projectUpdate(let p): return p
        case .projectArchive(let p): return p
        case .taskCreate(let p): return p
        case .taskSplit(let p): return p
        case .taskAssign(let p): return p
        case .taskCancel(let p): return p
        case .taskRetry(let p): return p
        case .taskDispatch(let p): return p
        case .agentRegister(let p): return p
        case .agentUpdate(let p): return p
        case .agentSetOffline(let p): return p
        case .agentSetStatus(let p): return p
        case .leadUpdate(let p): return p
        case .agentConfigure(let p): return p
        case .deadLetterReplay(let p): return p
        case .deadLetterPurge(let p): return p
        case .deliverableApprove(let p): return p
        case .deliverableDeliver(let p): return p
        case .deliverableRequestRevision(let p): return p
        case .deliverableReject(let p): return p
        case .deliverableFeedback(let p): return p
        case .projectMessage(let p): return p
        case .deliverableAttachFile(let p): return p
        }
    }

    public var kind: CommandKind { type(of: payload).kind }

    /// Reads the payload of `kind` from a request body (see ``CommandPayload/parse(_:pathID:)``).
    public static func parse(
        _ kind: CommandKind, _ body: [UInt8], pathID: Int64? = nil
    ) throws(ValidationError)
        -> OperatorCommand
    {
        switch kind {
        case .clientCreate: return .clientCreate(try .parse(body, pathID: pathID))
        case .clientUpdate: return .clientUpdate(try .parse(body, pathID: pathID))
        case .projectCreate: return .projectCreate(try .parse(body, pathID: pathID))
        case .projectUpdate: return .projectUpdate(try .parse(body, pathID: pathID))
        case .projectArchive: return .projectArchive(try .parse(body, pathID: pathID))
        case .taskCreate: return .taskCreate(try .parse(body, pathID: pathID))
        case .taskSplit: return .taskSplit(try .parse(body, pathID: pathID))
        case .taskAssign: return .taskAssign(try .parse(body, pathID: pathID))
        case .taskCancel: return .taskCancel(try .parse(body, pathID: pathID))
        case .taskRetry: return .taskRetry(try .parse(body, pathID: pathID))
        case .taskDispatch: return .taskDispatch(try .parse(body, pathID: pathID))
        case .agentRegister: return .agentRegister(try .parse(body, pathID: pathID))
        case .agentUpdate: return .agentUpdate(try .parse(body, pathID: pathID))
        case .agentSetOffline: return .agentSetOffline(try .parse(body, pathID: pathID))
        case .agentSetStatus: return .agentSetStatus(try .parse(body, pathID: pathID))
        case .leadUpdate: return .leadUpdate(try .parse(body, pathID: pathID))
        case .agentConfigure: return .agentConfigure(try .parse(body, pathID: pathID))
        case .deadLetterReplay: return .deadLetterReplay(try .parse(body, pathID: pathID))
        case .deadLetterPurge: return .deadLetterPurge(try .parse(body, pathID: pathID))
        case .deliverableApprove: return .deliverableApprove(try .parse(body, pathID: pathID))
        case .deliverableDeliver: return .deliverableDeliver(try .parse(body, pathID: pathID))
        case .deliverableRequestRevision: return .deliverableRequestRevision(try .parse(body, pathID: pathID))
        case .deliverableReject: return .deliverableReject(try .parse(body, pathID: pathID))
        case .deliverableFeedback: return .deliverableFeedback(try .parse(body, pathID: pathID))
        case .projectMessage: return .projectMessage(try .parse(body, pathID: pathID))
        case .deliverableAttachFile: return .deliverableAttachFile(try .parse(body, pathID: pathID))
        }
    }

    /// The payload as JSON (stored in `commands.payload`, compared when an idempotency key comes again).
    public func payloadJSON() throws -> [UInt8] { try JSONBody.encode(payload) }
}

/// The message that carries an accepted command to the workers (the command queue).
public struct CommandMessage: BullpenMessage, Equatable {
    public static let name = "operator.command"
    public static let queue = WorkQueue.command
    public static let schemaVersion = 1

    public var schema: Int
    public var commandId: String
    /// The API token that issued it.
    public var tokenId: Int64
    public var command: OperatorCommand
    /// Set when a client's token issued it: the client whose rows it may touch.
    public var clientId: Int64?

    public init(commandId: String, tokenId: Int64, command: OperatorCommand, clientId: Int64? = nil) {
        self.schema = Self.schemaVersion
        self.commandId = commandId
        self.tokenId = tokenId
        self.command = command
        self.clientId = clientId
    }

    public var messageID: String { "command:\(commandId)" }

    /// Planning commands outrank the queue's other work; there is none yet, so all share one priority.
    public var priority: Int? { 3 }

    enum CodingKeys: String, CodingKey { case schema, commandId, tokenId, kind, payload, clientId }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(Int.self, forKey: .schema)
        commandId = try container.decode(String.self, forKey: .commandId)
        tokenId = try container.decode(Int64.self, forKey: .tokenId)
        switch try container.decode(CommandKind.self, forKey: .kind) {
        case .clientCreate: command = .clientCreate(try container.decode(NewClient.self, forKey: .payload))
        case .clientUpdate: command = .clientUpdate(try container.decode(ClientChanges.self, forKey: .payload))
        case .projectCreate: command = .projectCreate(try container.decode(NewProject.self, forKey: .payload))
        case .projectUpdate: command = .projectUpdate(try container.decode(ProjectChanges.self, forKey: .payload))
        case .projectArchive: command = .projectArchive(try container.decode(ProjectArchival.self, forKey: .payload))
        case .taskCreate: command = .taskCreate(try container.decode(NewTask.self, forKey: .payload))
        case .taskSplit: command = .taskSplit(try container.decode(TaskSplit.self, forKey: .payload))
        case .taskAssign: command = .taskAssign(try container.decode(TaskAssignment.self, forKey: .payload))
        case .taskCancel: command = .taskCancel(try container.decode(TaskCancellation.self, forKey: .payload))
        case .taskRetry: command = .taskRetry(try container.decode(TaskRetry.self, forKey: .payload))
        case .taskDispatch: command = .taskDispatch(try container.decode(TaskDispatch.self, forKey: .payload))
        case .agentRegister: command = .agentRegister(try container.decode(NewAgent.self, forKey: .payload))
        case .agentUpdate: command = .agentUpdate(try container.decode(AgentChanges.self, forKey: .payload))
        case .agentSetOffline: command = .agentSetOffline(try container.decode(AgentOffline.self, forKey: .payload))
        case .agentSetStatus:
            command = .agentSetStatus(try container.decode(AgentStatusChange.self, forKey: .payload))
        case .leadUpdate: command = .leadUpdate(try container.decode(LeadChanges.self, forKey: .payload))
        case .agentConfigure:
            command = .agentConfigure(try container.decode(AgentConfiguration.self, forKey: .payload))
        case .deadLetterReplay:
            command = .deadLetterReplay(try container.decode(DeadLetterReplay.self, forKey: .payload))
        case .deadLetterPurge:
            command = .deadLetterPurge(try container.decode(DeadLetterPurge.self, forKey: .payload))
        case .deliverableApprove:
            command = .deliverableApprove(try container.decode(DeliverableApproval.self, forKey: .payload))
        case .deliverableDeliver:
            command = .deliverableDeliver(try container.decode(DeliverableDelivery.self, forKey: .payload))
        case .deliverableRequestRevision:
            command = .deliverableRequestRevision(
                try container.decode(DeliverableRevisionRequest.self, forKey: .payload))
        case .deliverableReject:
            command = .deliverableReject(try container.decode(DeliverableRejection.self, forKey: .payload))
        case .deliverableFeedback:
            command = .deliverableFeedback(try container.decode(DeliverableFeedback.self, forKey: .payload))
        case .projectMessage:
            command = .projectMessage(try container.decode(ProjectMessage.self, forKey: .payload))
        case .deliverableAttachFile:
            command = .deliverableAttachFile(try container.decode(DeliverableFile.self, forKey: .payload))
        }
        clientId = try container.decodeIfPresent(Int64.self, forKey: .clientId)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(commandId, forKey: .commandId)
        try container.encode(tokenId, forKey: .tokenId)
        try container.encode(command.kind, forKey: .kind)
        try command.payload.encode(to: container.superEncoder(forKey: .payload))
        try container.encodeIfPresent(clientId, forKey: .clientId)
    }
}

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
    case projectBrief = "project.brief"
    case projectEscalate = "project.escalate"
    case timeAdd = "time.add"
    case taskMessage = "task.message"
    case taskAbort = "task.abort"
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
    /// Who may issue it; operators only unless the type says otherwise.
    static var issuers: CommandIssuers { get }
    /// Where the operator API takes it.
    static var route: CommandRoute { get }
    /// The id the route's path names (`:id`), for a command on one row; nil for a command on a collection.
    var pathID: Int64? { get }
}

extension CommandPayload {
    public var references: [Reference] { [] }
    public static var issuers: CommandIssuers { .operators }
    public var pathID: Int64? { nil }

    /// The request body the operator API takes for it: its fields, without the path's id.
    public func requestBody() throws -> [UInt8] {
        guard pathID != nil else { return try JSONBody.encode(self) }
        var object = try JSONSerialization.jsonObject(with: Data(try JSONBody.encode(self))) as? [String: Any] ?? [:]
        object["id"] = nil
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// Equal to another command's payload: of this type, and the same.
    func isEqual(to other: any CommandPayload) -> Bool { (other as? Self) == self }

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

/// A command's place in the operator API: its method and its path under `/v1` (`:id` for the row's id).
public struct CommandRoute: Sendable, Equatable {
    public enum Method: String, Sendable {
        case post = "POST"
        case patch = "PATCH"
        case put = "PUT"
    }
    public let method: Method
    /// "/v1/tasks/:id/dispatch".
    public let path: String
    /// The body is a file, not JSON (a deliverable's attachment): taken by a route of its own.
    public let upload: Bool

    public init(_ method: Method, _ path: String, upload: Bool = false) {
        self.method = method
        self.path = path
        self.upload = upload
    }

    /// The collection it belongs to ("/v1/tasks") and the rest of the path (":id/dispatch"; "" for the
    /// collection itself).
    public var collection: String { path.split(separator: "/").prefix(2).map { "/" + $0 }.joined() }
    public var rest: String {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(3).joined(separator: "/")
    }

    /// The path with a row's id put in.
    public func path(id: Int64?) -> String {
        guard let id else { return path }
        return path.replacingOccurrences(of: ":id", with: String(id))
    }
}

/// Every kind of command, each once: the one list a new command type joins. Parsing a request, decoding a
/// command message and finding who may issue a command all look a kind up here.
public enum CommandCatalog {
    public static let payloads: [any CommandPayload.Type] = [
        NewClient.self, ClientChanges.self,
        NewProject.self, ProjectChanges.self, ProjectArchival.self, ProjectMessage.self,
        NewTask.self, TaskSplit.self, TaskAssignment.self, TaskCancellation.self, TaskRetry.self, TaskDispatch.self,
        NewAgent.self, AgentChanges.self, AgentOffline.self, AgentStatusChange.self, AgentConfiguration.self,
        DeadLetterReplay.self, DeadLetterPurge.self,
        DeliverableApproval.self, DeliverableDelivery.self, DeliverableRevisionRequest.self,
        DeliverableRejection.self, DeliverableFeedback.self, DeliverableFile.self,
        LeadChanges.self, ProjectBrief.self, ProjectEscalation.self, TimeEntryNew.self, TaskAgentMessage.self,
        TaskAbort.self,
    ]

    private static let byKind = Dictionary(payloads.map { ($0.kind, $0) }) { first, _ in first }

    /// The payload type of a kind (every kind has one: a unit test checks the catalog against ``CommandKind``).
    public static func payload(_ kind: CommandKind) -> any CommandPayload.Type {
        guard let type = byKind[kind] else { preconditionFailure("no payload type for \(kind.rawValue)") }
        return type
    }
}

/// One operator or client command, typed by its payload: what a command message carries and a worker applies.
public struct OperatorCommand: Sendable, Equatable {
    public let payload: any CommandPayload

    public init(_ payload: some CommandPayload) { self.payload = payload }
    init(erased payload: any CommandPayload) { self.payload = payload }

    public var kind: CommandKind { type(of: payload).kind }

    public static func == (lhs: OperatorCommand, rhs: OperatorCommand) -> Bool { lhs.payload.isEqual(to: rhs.payload) }

    /// Reads the payload of `kind` from a request body (see ``CommandPayload/parse(_:pathID:)``).
    public static func parse(
        _ kind: CommandKind, _ body: [UInt8], pathID: Int64? = nil
    ) throws(ValidationError)
        -> OperatorCommand
    {
        OperatorCommand(erased: try CommandCatalog.payload(kind).parse(body, pathID: pathID))
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
        let type = CommandCatalog.payload(try container.decode(CommandKind.self, forKey: .kind))
        command = OperatorCommand(erased: try type.init(from: try container.superDecoder(forKey: .payload)))
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

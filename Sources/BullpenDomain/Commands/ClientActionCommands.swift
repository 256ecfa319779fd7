/// `deliverable.feedback` (a client, on a version delivered to it): its words and a 1-5 rating.
public struct DeliverableFeedback: CommandPayload {
    public static let kind = CommandKind.deliverableFeedback
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/feedback")
    public var pathID: Int64? { id }
    public static let issuers = CommandIssuers.clients
    public var id: Int64
    public var feedback: String?
    public var rating: Int?

    public init(id: Int64, feedback: String? = nil, rating: Int? = nil) {
        self.id = id
        self.feedback = feedback
        self.rating = rating
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, feedback, rating }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.someChange([feedback, rating])
        try Check.text(feedback, "feedback", length: 1...5000)
        try Check.range(rating, "rating", 1...5)
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

/// `project.message`: a message on the project's thread, from the client (it waits for an answer: a message
/// response SLA, the operators told) or from an operator (the answer: the client told).
public struct ProjectMessage: CommandPayload {
    public static let kind = CommandKind.projectMessage
    public static let route = CommandRoute(.post, "/v1/projects/:id/messages")
    public var pathID: Int64? { id }
    public static let issuers = CommandIssuers.both
    public var id: Int64
    public var body: String

    public init(id: Int64, body: String) {
        self.id = id
        self.body = body
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, body }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(body, "body", length: 1...10000)
    }

    public var references: [Reference] { [Reference(.project, id, field: "id")] }
}

/// `project.brief`: a client's brief for new work, from the portal: a project of its own, on its current plan.
/// The client is the caller's (a client names no client id, so it can brief no one else).
public struct ProjectBrief: CommandPayload {
    public static let kind = CommandKind.projectBrief
    public static let route = CommandRoute(.post, "/v1/briefs")
    public static let issuers = CommandIssuers.clients
    public var name: String
    public var brief: String
    public var type: String?
    public var deadline: Timestamp?

    public init(name: String, brief: String, type: String? = nil, deadline: Timestamp? = nil) {
        self.name = name
        self.brief = brief
        self.type = type
        self.deadline = deadline
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case name, brief, type, deadline }

    public func validate() throws(ValidationError) {
        try Check.text(name, "name", length: 1...200)
        try Check.text(brief, "brief", length: 1...50_000)
        try Check.text(type, "type", length: 1...60)
    }
}

/// Who may issue a kind of command.
public enum CommandIssuers: Sendable, Equatable {
    case operators
    /// Clients only, on their own rows (a rating is the client's word).
    case clients
    /// Either; a client on its own rows.
    case both
}

extension CommandKind {
    public var issuers: CommandIssuers { CommandCatalog.payload(self).issuers }
}

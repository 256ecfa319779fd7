import Foundation

/// `project.create`: a project from a client's brief. Its SLA hours, revision limit and default priority come
/// from the plan's terms: the tier given, or else the plan of the subscription given, or else (neither given)
/// the plan of the client's current subscription; a client with none needs a tier.
public struct NewProject: CommandPayload {
    public static let kind = CommandKind.projectCreate
    public static let route = CommandRoute(.post, "/v1/projects")
    public var clientId: Int64
    public var name: String
    public var type: String
    public var brief: String?
    public var deadline: Timestamp?
    public var tier: Plan?
    public var subscriptionId: Int64?
    public var tags: [String]?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case clientId, name, type, brief, deadline, tier, subscriptionId, tags
    }

    public init(
        clientId: Int64, name: String, type: String, brief: String?, deadline: Timestamp? = nil, tier: Plan? = nil,
        subscriptionId: Int64? = nil, tags: [String]? = nil
    ) {
        self.clientId = clientId
        self.name = name
        self.type = type
        self.brief = brief
        self.deadline = deadline
        self.tier = tier
        self.subscriptionId = subscriptionId
        self.tags = tags
    }

    public func validate() throws(ValidationError) {
        try Check.positive(clientId, "clientId")
        try Check.text(name, "name", length: 1...200)
        try Check.text(type, "type", length: 1...60)
        try Check.text(brief, "brief", length: 1...50_000)
        try Self.checkTags(tags)
    }

    /// At most 20 tags of 1 to 40 characters.
    static func checkTags(_ tags: [String]?) throws(ValidationError) {
        try Check.range(tags?.count, "tags", 0...20)
        for (index, tag) in (tags ?? []).enumerated() { try Check.text(tag, "tags[\(index)]", length: 1...40) }
    }

    public var references: [Reference] {
        [Reference(.client, clientId, field: "clientId")]
            + (subscriptionId.map { [Reference(.subscription, $0, field: "subscriptionId")] } ?? [])
    }
}

/// `project.update`: renames, re-briefs or re-dates a project.
public struct ProjectChanges: CommandPayload {
    public static let kind = CommandKind.projectUpdate
    public static let route = CommandRoute(.patch, "/v1/projects/:id")
    public var pathID: Int64? { id }
    public var id: Int64
    public var name: String?
    public var brief: String?
    public var deadline: Timestamp?
    public var tags: [String]?

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, name, brief, deadline, tags }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.someChange([name, brief, deadline, tags])
        try Check.text(name, "name", length: 1...200)
        try Check.text(brief, "brief", length: 1...50_000)
        try NewProject.checkTags(tags)
    }

    public var references: [Reference] { [Reference(.project, id, field: "id")] }
}

/// `project.archive`: closes a project; it takes no new tasks.
public struct ProjectArchival: CommandPayload {
    public static let kind = CommandKind.projectArchive
    public static let route = CommandRoute(.post, "/v1/projects/:id/archive")
    public var pathID: Int64? { id }
    public var id: Int64

    public enum CodingKeys: String, CodingKey, CaseIterable { case id }

    public func validate() throws(ValidationError) { try Check.positive(id, "id") }
    public var references: [Reference] { [Reference(.project, id, field: "id")] }
}

/// `project.escalate`: the client escalated a project (an operator records it): its open work (tasks pending or
/// waiting for their dispatch) goes to the top band, Critical, with the reason on each task.
public struct ProjectEscalation: CommandPayload {
    public static let kind = CommandKind.projectEscalate
    public static let route = CommandRoute(.post, "/v1/projects/:id/escalate")
    public var pathID: Int64? { id }
    public var id: Int64
    public var reason: String

    public init(id: Int64, reason: String) {
        self.id = id
        self.reason = reason
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, reason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(reason, "reason", length: 1...500)
    }

    public var references: [Reference] { [Reference(.project, id, field: "id")] }
}

/// `agent.register`: a new agent, online and ready for work.
public struct NewAgent: CommandPayload {
    public static let kind = CommandKind.agentRegister
    public static let route = CommandRoute(.post, "/v1/agents")
    public var name: String
    public var specialization: Specialization?
    public var capabilities: [Capability]?
    public var model: String?
    public var maxConcurrentTasks: Int?
    public var soul: String?
    /// What a completed task of this agent costs the agency, in cents: the agent's cost in analytics.
    public var costPerTaskCents: Int?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, specialization, capabilities, model, maxConcurrentTasks, soul, costPerTaskCents
    }

    public func validate() throws(ValidationError) {
        try Check.range(costPerTaskCents, "costPerTaskCents", 0...10_000_000)
        try Check.text(name, "name", length: 1...100)
        try Check.text(model, "model", length: 1...100)
        try Check.text(soul, "soul", length: 1...20_000)
        try Check.range(maxConcurrentTasks, "maxConcurrentTasks", 1...64)
    }
}

/// `agent.update`: changes to an agent; fields left out stay as they are.
public struct AgentChanges: CommandPayload {
    public static let kind = CommandKind.agentUpdate
    public static let route = CommandRoute(.patch, "/v1/agents/:id")
    public var pathID: Int64? { id }
    public var id: Int64
    public var name: String?
    public var specialization: Specialization?
    public var capabilities: [Capability]?
    public var model: String?
    public var maxConcurrentTasks: Int?
    public var soul: String?
    public var costPerTaskCents: Int?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, specialization, capabilities, model, maxConcurrentTasks, soul, costPerTaskCents
    }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.someChange([name, specialization, capabilities, model, maxConcurrentTasks, soul, costPerTaskCents])
        try Check.range(costPerTaskCents, "costPerTaskCents", 0...10_000_000)
        try Check.text(name, "name", length: 1...100)
        try Check.text(model, "model", length: 1...100)
        try Check.text(soul, "soul", length: 1...20_000)
        try Check.range(maxConcurrentTasks, "maxConcurrentTasks", 1...64)
    }

    public var references: [Reference] { [Reference(.agent, id, field: "id")] }
}

/// `agent.set_offline`: the agent takes no new work (a run in progress finishes).
public struct AgentOffline: CommandPayload {
    public static let kind = CommandKind.agentSetOffline
    public static let route = CommandRoute(.post, "/v1/agents/:id/offline")
    public var pathID: Int64? { id }
    public var id: Int64

    public enum CodingKeys: String, CodingKey, CaseIterable { case id }

    public func validate() throws(ValidationError) { try Check.positive(id, "id") }
    public var references: [Reference] { [Reference(.agent, id, field: "id")] }
}

/// `agent.set_status`: an operator sets an agent online, offline or paused, with the reason (shown with the
/// agent). An operator's offline or paused stands against liveness until the operator sets the agent online.
public struct AgentStatusChange: CommandPayload {
    public static let kind = CommandKind.agentSetStatus
    public static let route = CommandRoute(.post, "/v1/agents/:id/status")
    public var pathID: Int64? { id }
    public var id: Int64
    public var status: AgentStatus
    public var reason: String?

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, status, reason }

    public init(id: Int64, status: AgentStatus, reason: String? = nil) {
        self.id = id
        self.status = status
        self.reason = reason
    }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        guard status != .busy else {
            throw ValidationError(
                field: "status", message: "must be online, offline or paused (busy is the agent's own)")
        }
        try Check.text(reason, "reason", length: 1...500)
        if status != .online && reason == nil {
            throw ValidationError(field: "reason", message: "is required to set an agent \(status.rawValue)")
        }
    }

    public var references: [Reference] { [Reference(.agent, id, field: "id")] }
}

/// `agent.configure`: how an agent works for one Scale client (its custom agent): the system prompt, brand
/// guidelines, model, thinking level and knowledge base. Setting it again replaces it.
///
/// Only what the gateway's `agent` method carries is taken: a model (`provider/model`, one of
/// `Config/models.json`; the gateway takes it from a device with `operator.admin` only), a thinking level, and
/// documents given to the run as text. The seed's temperature and tools are refused here, saying why: the
/// method has no such fields (they belong to the gateway's own agent configuration).
public struct AgentConfiguration: CommandPayload {
    public static let kind = CommandKind.agentConfigure
    public static let route = CommandRoute(.put, "/v1/agents/:id/config")
    public var pathID: Int64? { id }
    public var id: Int64
    public var clientId: Int64
    public var name: String
    public var systemPrompt: String
    public var brandGuidelines: String?
    public var model: String?
    public var thinking: ThinkingLevel?
    public var knowledge: [KnowledgeDocument]?
    public var temperature: Double?
    public var tools: [Capability]?

    public init(
        id: Int64, clientId: Int64, name: String, systemPrompt: String, brandGuidelines: String? = nil,
        model: String? = nil, thinking: ThinkingLevel? = nil, knowledge: [KnowledgeDocument]? = nil
    ) {
        self.id = id
        self.clientId = clientId
        self.name = name
        self.systemPrompt = systemPrompt
        self.brandGuidelines = brandGuidelines
        self.model = model
        self.thinking = thinking
        self.knowledge = knowledge
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, clientId, name, systemPrompt, brandGuidelines, model, thinking, knowledge, temperature, tools
    }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.positive(clientId, "clientId")
        try Check.text(name, "name", length: 1...100)
        try Check.text(systemPrompt, "systemPrompt", length: 1...50_000)
        try Check.text(brandGuidelines, "brandGuidelines", length: 1...50_000)
        if let model, ModelName(model) == nil {
            throw ValidationError(field: "model", message: "must be provider/model, as the gateway names it")
        }
        if temperature != nil {
            throw ValidationError(
                field: "temperature",
                message:
                    "the gateway's agent method takes no temperature: set it in the gateway's own agent configuration (its model params) and configure that agent here"
            )
        }
        if let tools, !tools.isEmpty {
            throw ValidationError(
                field: "tools",
                message:
                    "the gateway's agent method takes no tool list: a gateway agent's tools are its own (agents.list[].tools); configure an agent whose tools fit"
            )
        }
        try KnowledgeDocument.check(knowledge)
    }

    public var references: [Reference] {
        [Reference(.agent, id, field: "id"), Reference(.client, clientId, field: "clientId")]
    }
}

import Foundation

/// The agency's agents as a file (`Config/agents.example.json`: `{"agents": [{name, specialization,
/// capabilities, model, maxConcurrentTasks, soul}, ...]}`), and what applying it to the agents Bullpen knows
/// takes: register the new, update the changed, leave the rest. Pure: `bullpen agent apply` reads the file and
/// the agent list, and sends the steps as operator commands.
public struct AgentRoster: Sendable, Equatable {
    public var agents: [NewAgent]

    /// Each entry checked as `agent.register` checks it; errors name the entry (`agents[2].maxConcurrentTasks
    /// must be between 1 and 64`); a name twice is refused.
    public init(json body: [UInt8]) throws(ValidationError) {
        let object = try JSONBody.object(body)
        for key in object.keys where key != "agents" {
            throw ValidationError(field: key, message: "is not a field of a roster (agents)")
        }
        guard let entries = object["agents"] as? [Any] else {
            throw ValidationError(field: "agents", message: "must be a list of agents")
        }
        var agents: [NewAgent] = []
        for (index, entry) in entries.enumerated() {
            let field = "agents[\(index)]"
            guard let fields = entry as? [String: Any],
                let bytes = try? JSONSerialization.data(withJSONObject: fields)
            else { throw ValidationError(field: field, message: "must be an object") }
            do throws(ValidationError) {
                let agent = try JSONBody.decode(
                    NewAgent.self, from: Array(bytes), allowedFields: Set(NewAgent.CodingKeys.allCases.map(\.rawValue)))
                try agent.validate()
                guard !agents.contains(where: { $0.name == agent.name }) else {
                    throw ValidationError(field: "name", message: "is another entry's too (\(agent.name))")
                }
                agents.append(agent)
            } catch {
                throw ValidationError(
                    field: error.field.isEmpty ? field : "\(field).\(error.field)", message: error.message)
            }
        }
        self.agents = agents
    }

    /// An agent as the agent list shows it.
    public struct Known: Sendable, Equatable {
        public var id: Int64
        public var specialization: Specialization?
        public var capabilities: [Capability]
        public var model: String?
        public var maxConcurrentTasks: Int
        public var soul: String?

        public init(
            id: Int64, specialization: Specialization?, capabilities: [Capability], model: String?,
            maxConcurrentTasks: Int, soul: String? = nil
        ) {
            self.id = id
            self.specialization = specialization
            self.capabilities = capabilities
            self.model = model
            self.maxConcurrentTasks = maxConcurrentTasks
            self.soul = soul
        }
    }

    public enum Step: Sendable, Equatable {
        case register(NewAgent)
        case update(name: String, AgentChanges)
        case unchanged(name: String, id: Int64)
    }

    /// What applying the roster to `known` (by name) takes, in the roster's order. An update carries only the
    /// fields the roster gives that differ from the list's, so a roster applied twice changes nothing the second
    /// time. Agents the roster does not name are left as they are.
    public func steps(known: [String: Known]) -> [Step] {
        agents.map { agent in
            guard let current = known[agent.name] else { return .register(agent) }
            var changes = AgentChanges(id: current.id)
            if let value = agent.specialization, value != current.specialization { changes.specialization = value }
            if let value = agent.capabilities, Set(value) != Set(current.capabilities) { changes.capabilities = value }
            if let value = agent.model, value != current.model { changes.model = value }
            if let value = agent.maxConcurrentTasks, value != current.maxConcurrentTasks {
                changes.maxConcurrentTasks = value
            }
            if let value = agent.soul, value != current.soul { changes.soul = value }
            return changes == AgentChanges(id: current.id)
                ? .unchanged(name: agent.name, id: current.id) : .update(name: agent.name, changes)
        }
    }
}

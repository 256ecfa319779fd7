import Foundation

/// Whether agents are alive, from what the gateway says: pure, with the time given.
///
/// Signs of life are the gateway listing the agent (`agents.list`, asked by every worker that holds a gateway
/// connection), its lifecycle hooks, and its runs and results. The rules:
/// - An operator's status (offline or paused, with a reason) stands: liveness never changes it; only the
///   operator sets the agent online again.
/// - An agent the gateway lists is seen now, and one that liveness took offline comes back online.
/// - An agent the gateway listed before and lists no more goes offline ("the gateway no longer lists it").
/// - Otherwise (the gateway was not asked, or never listed the agent) an agent silent for longer than the
///   limit goes offline.
public enum AgentLiveness {
    /// An agent as the store loaded it.
    public struct Agent: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var status: AgentStatus
        /// The status is an operator's (set with a reason); liveness leaves it.
        public var setByOperator: Bool
        public var lastSeen: Date
        /// When the gateway last listed it; nil if it never has.
        public var listedAt: Date?

        public init(
            id: Int64, name: String, status: AgentStatus, setByOperator: Bool = false, lastSeen: Date,
            listedAt: Date? = nil
        ) {
            self.id = id
            self.name = name
            self.status = status
            self.setByOperator = setByOperator
            self.lastSeen = lastSeen
            self.listedAt = listedAt
        }
    }

    /// What to write, with the reason.
    public enum Change: Sendable, Equatable {
        /// Listed by the gateway: seen now (no status change).
        case listed(id: Int64)
        /// Back online, why.
        case online(id: Int64, reason: String)
        /// Offline, why.
        case offline(id: Int64, reason: String)
    }

    /// The changes for `agents` at `now`: `listed` is what the gateway's `agents.list` said (nil when it was
    /// not asked or did not answer), `silenceLimit` how long an agent may go unheard.
    public static func decide(
        _ agents: [Agent], listed: Set<String>?, now: Date, silenceLimit: TimeInterval
    ) -> [Change] {
        agents.flatMap { agent -> [Change] in
            if let listed, listed.contains(agent.name) {
                guard agent.status == .offline, !agent.setByOperator else { return [.listed(id: agent.id)] }
                return [.listed(id: agent.id), .online(id: agent.id, reason: "the gateway lists it again")]
            }
            guard agent.status != .offline, !agent.setByOperator else { return [] }
            if listed != nil, agent.listedAt != nil {
                return [.offline(id: agent.id, reason: "the gateway no longer lists it")]
            }
            guard now.timeIntervalSince(agent.lastSeen) > silenceLimit else { return [] }
            return [.offline(id: agent.id, reason: "silent for more than \(Int(silenceLimit)) s")]
        }
    }
}

/// Which of the tasks asking for a dispatch open an attempt now: the claim's rule, with no I/O. An agent
/// takes at most `maxConcurrentTasks` open attempts; an offline agent takes none. When more tasks ask for an
/// agent than it has free slots, the highest dispatch priority goes first, then the order they asked in.
/// The rest wait for a slot (a closing attempt sends the next one).
public enum SlotAllocation {
    /// A task that asks for its agent.
    public struct Request: Sendable, Equatable {
        public var taskID: Int64
        public var agentID: Int64
        public var priority: Int

        public init(taskID: Int64, agentID: Int64, priority: Int) {
            self.taskID = taskID
            self.agentID = agentID
            self.priority = priority
        }
    }

    /// An agent's slots as the claim sees them, its row locked.
    public struct Slots: Sendable, Equatable {
        public var offline: Bool
        public var openRuns: Int
        public var maxConcurrentTasks: Int

        public init(offline: Bool, openRuns: Int, maxConcurrentTasks: Int) {
            self.offline = offline
            self.openRuns = openRuns
            self.maxConcurrentTasks = maxConcurrentTasks
        }
    }

    /// What a request gets.
    public enum Decision: Sendable, Equatable {
        case open
        /// The task keeps waiting, for this reason.
        case wait(reason: String)
    }

    /// A decision per request, in the requests' order. A request whose agent is not in `slots` waits.
    public static func allocate(_ requests: [Request], slots: [Int64: Slots]) -> [Decision] {
        var free = slots.mapValues { $0.offline ? 0 : max(0, $0.maxConcurrentTasks - $0.openRuns) }
        var decisions = [Decision](repeating: .wait(reason: ""), count: requests.count)
        let order = requests.indices.sorted { a, b in
            requests[a].priority != requests[b].priority ? requests[a].priority > requests[b].priority : a < b
        }
        for index in order {
            let agent = requests[index].agentID
            guard let slots = slots[agent] else {
                decisions[index] = .wait(reason: "agent \(agent) is not known")
                continue
            }
            if let left = free[agent], left > 0 {
                free[agent] = left - 1
                decisions[index] = .open
            } else if slots.offline {
                decisions[index] = .wait(reason: "agent \(agent) is offline")
            } else {
                decisions[index] = .wait(
                    reason: "agent \(agent) runs \(slots.openRuns) of \(slots.maxConcurrentTasks) tasks")
            }
        }
        return decisions
    }
}

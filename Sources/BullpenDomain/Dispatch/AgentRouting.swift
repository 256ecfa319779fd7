/// An agent as the router sees it.
public struct AgentCandidate: Sendable, Equatable {
    public var id: Int64
    public var status: AgentStatus
    public var specialization: Specialization?
    /// Set for a Scale client's own custom agent.
    public var customForClientID: Int64?
    public var failureRate: Double
    public var averageCompletionMs: Int64?
    /// Attempts open now (runs started or starting).
    public var openRuns: Int
    public var maxConcurrentTasks: Int

    public init(
        id: Int64, status: AgentStatus, specialization: Specialization?, customForClientID: Int64? = nil,
        failureRate: Double = 0, averageCompletionMs: Int64? = nil, openRuns: Int = 0, maxConcurrentTasks: Int = 1
    ) {
        self.id = id
        self.status = status
        self.specialization = specialization
        self.customForClientID = customForClientID
        self.failureRate = failureRate
        self.averageCompletionMs = averageCompletionMs
        self.openRuns = openRuns
        self.maxConcurrentTasks = maxConcurrentTasks
    }

    public var hasRoom: Bool { openRuns < maxConcurrentTasks }
}

/// Which agent takes a task nobody assigned: the seed plan's routing rules, with no I/O.
public enum AgentRouting {
    /// The specialization a task needs: the one it requires, or the one its type implies.
    public static func specialization(required: Specialization?, taskType: TaskType?) -> Specialization? {
        if let required { return required }
        switch taskType {
        case .research: return .researcher
        case .draft, .revision: return .writer
        case .code: return .coder
        case .design: return .designer
        case .review: return .reviewer
        case nil: return nil
        }
    }

    /// Agents that take work (not offline or paused), of the specialization (or general, when none is needed), and not another
    /// client's custom agent. Among them: the client's own custom agent first, then agents with room before
    /// agents at capacity (a task for a full agent waits queued for it), then the lowest failure rate, then
    /// the fastest average completion (unknown last), then the oldest agent. Nil when none qualifies.
    public static func choose(
        _ candidates: [AgentCandidate], specialization: Specialization?, clientID: Int64?
    ) -> AgentCandidate? {
        candidates.filter { agent in
            agent.status.takesWork
                && (specialization == nil || agent.specialization == specialization)
                && (agent.customForClientID == nil || agent.customForClientID == clientID)
        }.min { a, b in
            let aOwn = a.customForClientID != nil && a.customForClientID == clientID
            let bOwn = b.customForClientID != nil && b.customForClientID == clientID
            if aOwn != bOwn { return aOwn }
            if a.hasRoom != b.hasRoom { return a.hasRoom }
            if a.failureRate != b.failureRate { return a.failureRate < b.failureRate }
            switch (a.averageCompletionMs, b.averageCompletionMs) {
            case (let x?, let y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.id < b.id
            }
        }
    }
}

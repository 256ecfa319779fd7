/// An agent's availability: the router dispatches only to agents that take work (online, busy) with room for
/// another task. `paused` is an operator's: the agent is alive but takes no new work until set online again.
public enum AgentStatus: String, Choice {
    case online, offline, busy, paused

    /// Whether routing and dispatch may give the agent work.
    public var takesWork: Bool { self == .online || self == .busy }
}

/// What an agent is good at; a task may require one.
public enum Specialization: String, Choice {
    case researcher, writer, coder, designer, reviewer, general
}

/// Tools an agent may use.
public enum Capability: String, Choice {
    case webSearch = "web_search"
    case codeExecution = "code_execution"
    case imageGeneration = "image_generation"
    case fileAccess = "file_access"
}

/// An agent's availability: the router dispatches only to online agents with room for another task.
public enum AgentStatus: String, Choice {
    case online, offline, busy
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

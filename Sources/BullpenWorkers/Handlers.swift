import BullpenMessaging

/// Every handler of the worker; each serves the queue its message type names.
public enum Handlers {
    public static let all: [any MessageHandler] = [TaskResultHandler(), CommandHandler()]

    /// The registry a worker process runs with.
    public static func registry() throws -> HandlerRegistry { try HandlerRegistry(all) }
}

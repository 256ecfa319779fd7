import BullpenRuntime

/// Which handlers serve which queue.
public enum Handlers {
    public static let all: [String: [any MessageHandler]] = [
        "review": [TaskResultHandler()],
    ]
}

/// Bullpen's work queues. The one place their names are written: `Queues/<name>.json` describes each one's
/// broker settings, and loading the topology refuses a file for a queue that is not listed here.
public enum WorkQueue: String, Choice, Comparable {
    /// Operator commands (create, update, assign, cancel ...). A queue of their own, so that planning never
    /// waits behind a backlog of dispatches or results.
    case command
    /// Tasks to start as agent runs on the OpenClaw gateway.
    case dispatch
    /// Agent results to turn into settled tasks and deliverables.
    case review
    /// Stripe events.
    case billing
    /// Emails and chat messages to send.
    case notify

    public static func < (lhs: WorkQueue, rhs: WorkQueue) -> Bool { lhs.rawValue < rhs.rawValue }
}

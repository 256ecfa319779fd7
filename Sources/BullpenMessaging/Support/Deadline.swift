import Synchronization

/// Answers within a time, whatever the work under it does (``ConfirmingPublisher/publish(_:retryingFor:answeringWithin:)``):
/// for callers that must answer someone (ingest's 2xx or 503) while the work may be stuck behind a socket that
/// no longer answers.
public enum Deadline {
    public struct Expired: Error, CustomStringConvertible, Sendable {
        public let limit: Duration
        public var description: String { "no answer within \(limit)" }
    }

    /// True the first time it is asked, false after: who answers first (the work or the deadline).
    final class Once: Sendable {
        private let asked = Mutex(false)

        func first() -> Bool {
            asked.withLock { asked in
                defer { asked = true }
                return !asked
            }
        }
    }
}

/// The states of a project: intake -> active -> review -> delivered (-> active again for a revision), and
/// archived from any of them.
public enum ProjectStatus: String, Choice {
    case intake, active, review, delivered, archived
}

/// What can happen to a project.
public enum ProjectEvent: String, Sendable, Equatable {
    /// Planning is done and tasks may run.
    case activate
    /// Work is in human review.
    case submitForReview = "submit_for_review"
    /// Approved work went to the client.
    case deliver
    /// Closed for good: no further tasks are created or dispatched.
    case archive
    /// Delivered work needs more: a revision was asked for.
    case reopen
}

/// The project lifecycle as a state machine: the rules, with no I/O.
public enum ProjectLifecycle {
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public let from: ProjectStatus
        public let event: ProjectEvent
        public var description: String { "a project in \(from.rawValue) cannot \(event.rawValue.replacingUnderscores)" }
    }

    public static func next(from status: ProjectStatus, on event: ProjectEvent) -> Result<ProjectStatus, Refusal> {
        switch (status, event) {
        case (.intake, .activate), (.review, .activate): return .success(.active)
        case (.active, .submitForReview): return .success(.review)
        case (.review, .deliver): return .success(.delivered)
        case (.delivered, .reopen): return .success(.active)
        case (.intake, .archive), (.active, .archive), (.review, .archive), (.delivered, .archive):
            return .success(.archived)
        default: return .failure(Refusal(from: status, event: event))
        }
    }

    /// Whether tasks may still be added to a project in this state.
    public static func takesNewTasks(_ status: ProjectStatus) -> Bool { status != .archived && status != .delivered }
}

extension String {
    fileprivate var replacingUnderscores: String { split(separator: "_").joined(separator: " ") }
}

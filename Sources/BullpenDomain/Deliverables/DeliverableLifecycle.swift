/// The states of a deliverable: draft -> review -> approved -> delivered | rejected. A version whose revision
/// was asked for before delivery is rejected (the revision's version replaces it); a delivered one stays
/// delivered (the client keeps what it received).
public enum DeliverableStatus: String, Choice {
    case draft, review, approved, delivered, rejected
}

/// What a reviewer or the delivery flow can do to a deliverable.
public enum DeliverableEvent: Sendable, Equatable {
    case submitForReview
    case approve
    case reject
    case deliver
    /// A revision was asked for (by an operator in review, or by the client after delivery).
    case requestRevision
}

/// The deliverable lifecycle as a state machine with no I/O.
public enum DeliverableLifecycle {
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public let from: DeliverableStatus
        public let event: DeliverableEvent
        public init(from: DeliverableStatus, event: DeliverableEvent) {
            self.from = from
            self.event = event
        }

        public var description: String { "a \(from.rawValue) deliverable cannot \(event)" }
    }

    public static func next(
        from status: DeliverableStatus, on event: DeliverableEvent
    ) -> Result<DeliverableStatus, Refusal> {
        switch (status, event) {
        case (.draft, .submitForReview): return .success(.review)
        case (.review, .approve): return .success(.approved)
        case (.review, .reject): return .success(.rejected)
        case (.approved, .deliver): return .success(.delivered)
        case (.review, .requestRevision), (.approved, .requestRevision): return .success(.rejected)
        case (.delivered, .requestRevision): return .success(.delivered)
        default: return .failure(Refusal(from: status, event: event))
        }
    }
}

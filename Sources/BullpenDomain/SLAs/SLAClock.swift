import Foundation

/// What an SLA record times.
public enum SLAType: String, Choice {
    /// From a project's start to the agency's first response (its first task dispatched).
    case firstResponse = "first_response"
    /// From a task's dispatch to the delivery of its work.
    case deliverableDue = "deliverable_due"
    /// From a revision's request to the delivery of the revised work.
    case revisionDue = "revision_due"
    /// From a client's message to the answer.
    case messageResponse = "message_response"

    /// The target under a project's terms: the response hours for a response, the delivery hours for work.
    public func targetHours(responseHours: Int, deliveryHours: Int) -> Int {
        switch self {
        case .firstResponse, .messageResponse: return responseHours
        case .deliverableDue, .revisionDue: return deliveryHours
        }
    }

    /// In words, for messages.
    public var words: String { rawValue.split(separator: "_").joined(separator: " ") }
}

/// Where an SLA stands: on track -> at risk (under a fifth of its time left) -> breached (past its deadline);
/// met when fulfilled in time.
public enum SLAStatus: String, Choice {
    case onTrack = "on_track"
    case atRisk = "at_risk"
    case breached, met

    /// Still running: the monitor looks at it.
    public var isOpen: Bool { self == .onTrack || self == .atRisk }
}

/// The SLA rules, with no I/O: the clock is the caller's (`now`), so tests drive it.
public enum SLAClock {
    /// Under this share of its window left, an SLA is at risk.
    public static let atRiskShare = 0.2

    /// Where an open SLA stands at `now`. A status only moves forward: an at-risk SLA never returns to on
    /// track, and a closed one (met, breached) stays as it is.
    public static func status(current: SLAStatus, startedAt: Date, deadline: Date, now: Date) -> SLAStatus {
        guard current.isOpen else { return current }
        if now >= deadline { return .breached }
        let window = deadline.timeIntervalSince(startedAt)
        if deadline.timeIntervalSince(now) < window * atRiskShare { return .atRisk }
        return current
    }

    /// The status an SLA takes when it is fulfilled at `now`: met if in time, breached if not (a breached
    /// one stays breached; a met one stays met).
    public static func fulfilled(current: SLAStatus, deadline: Date, now: Date) -> SLAStatus {
        switch current {
        case .met, .breached: return current
        case .onTrack, .atRisk: return now <= deadline ? .met : .breached
        }
    }
}

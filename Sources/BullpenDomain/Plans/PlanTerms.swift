/// The three plans a client buys, and the terms each one sets on a project.
public enum Plan: String, Choice {
    case sprint, pro, scale

    /// The terms of the plan: what a project under it is promised.
    public var terms: PlanTerms {
        switch self {
        case .sprint:
            return PlanTerms(
                responseHours: 72, deliveryHours: 72, maxRevisions: 2, deliverablesIncluded: 1, priority: 2)
        case .pro:
            return PlanTerms(
                responseHours: 24, deliveryHours: 24, maxRevisions: nil, deliverablesIncluded: 4, priority: 3)
        case .scale:
            return PlanTerms(
                responseHours: 8, deliveryHours: 8, maxRevisions: nil, deliverablesIncluded: nil, priority: 4)
        }
    }
}

/// SLA and usage terms of a plan (the seed plan's figures: Sprint $2,500 once, Pro $4,500 and Scale $9,000 a
/// month). A new project copies them, so a later change of terms does not move a running project's deadlines.
public struct PlanTerms: Sendable, Equatable {
    /// Hours to the first meaningful response.
    public let responseHours: Int
    /// Hours to a deliverable.
    public let deliveryHours: Int
    /// Revision rounds included; nil for unlimited.
    public let maxRevisions: Int?
    /// Deliverables per period; nil for unlimited (reasonable use).
    public let deliverablesIncluded: Int?
    /// The task priority the plan's work gets by default (1 background ... 5 critical).
    public let priority: Int
}

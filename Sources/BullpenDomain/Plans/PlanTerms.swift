/// The three plans a client buys. The set is closed (the schema checks it); what each one costs and promises
/// is data: ``PlanCatalog``, read from `Config/plans.json`.
public enum Plan: String, Choice {
    case sprint, pro, scale
}

/// SLA and usage terms of a plan. A new project copies them, so a later change of terms does not move a
/// running project's deadlines.
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

    public init(responseHours: Int, deliveryHours: Int, maxRevisions: Int?, deliverablesIncluded: Int?, priority: Int) {
        self.responseHours = responseHours
        self.deliveryHours = deliveryHours
        self.maxRevisions = maxRevisions
        self.deliverablesIncluded = deliverablesIncluded
        self.priority = priority
    }
}

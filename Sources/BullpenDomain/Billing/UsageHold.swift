/// Whether a client's work may be dispatched under its subscription: a pure rule. Work is held (the dispatch
/// refused with the reason, the task left as it was) when the subscription is past due or canceled, or when
/// the work would produce a deliverable beyond the period's allowance; an operator may override a hold with a
/// reason. Revisions never count: they make a new version of a deliverable already counted.
public enum UsageHold {
    public struct Standing: Sendable, Equatable {
        public var subscriptionID: Int64
        public var planName: String
        public var status: SubscriptionStatus
        /// Deliverables included per period; nil for unlimited.
        public var included: Int?
        /// Delivered this period.
        public var used: Int
        /// Other works of the client dispatched and not yet delivered.
        public var inProgress: Int

        public init(
            subscriptionID: Int64, planName: String, status: SubscriptionStatus, included: Int?, used: Int,
            inProgress: Int
        ) {
            self.subscriptionID = subscriptionID
            self.planName = planName
            self.status = status
            self.included = included
            self.used = used
            self.inProgress = inProgress
        }
    }

    /// Why the work is held, or nil. `producesDeliverable`: the task is new work, not a revision.
    public static func reason(_ standing: Standing, producesDeliverable: Bool) -> String? {
        let subscription = "subscription \(standing.subscriptionID) (\(standing.planName))"
        switch standing.status {
        case .pastDue: return "\(subscription) is past due: a payment failed and the client was asked to update it"
        case .canceled: return "\(subscription) is canceled"
        case .active, .trialing, .completed: break
        }
        guard producesDeliverable, let included = standing.included,
            standing.used + standing.inProgress >= included
        else { return nil }
        return
            "\(subscription) includes \(included) deliverable\(included == 1 ? "" : "s") a period: "
            + "\(standing.used) delivered and \(standing.inProgress) in progress"
    }
}

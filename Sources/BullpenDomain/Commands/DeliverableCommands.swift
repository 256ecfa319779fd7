/// A review decision on one deliverable: its id and the reviewer's notes.
public protocol DeliverableDecision: CommandPayload where CodingKeys == DeliverableDecisionKeys {
    var id: Int64 { get }
    var notes: String? { get }
}

/// The fields of a review decision.
public enum DeliverableDecisionKeys: String, CodingKey, CaseIterable { case id, notes }

extension DeliverableDecision {
    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(notes, "notes", length: 1...5000)
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

/// `deliverable.approve`: a deliverable in review is approved (not yet delivered).
public struct DeliverableApproval: DeliverableDecision {
    public static let kind = CommandKind.deliverableApprove
    public typealias CodingKeys = DeliverableDecisionKeys
    public var id: Int64
    public var notes: String?
}

/// `deliverable.deliver`: a deliverable in review is approved and delivered in one, or an approved one
/// delivered: the client sees it and is told.
public struct DeliverableDelivery: DeliverableDecision {
    public static let kind = CommandKind.deliverableDeliver
    public typealias CodingKeys = DeliverableDecisionKeys
    public var id: Int64
    public var notes: String?
}

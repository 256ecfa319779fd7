/// `deliverable.approve`: a deliverable in review is approved (not yet delivered).
public struct DeliverableApproval: CommandPayload {
    public static let kind = CommandKind.deliverableApprove
    public var id: Int64
    public var notes: String?

    public init(id: Int64, notes: String? = nil) {
        self.id = id
        self.notes = notes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, notes }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(notes, "notes", length: 1...5000)
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

/// `deliverable.deliver`: a deliverable in review is approved and delivered in one, or an approved one
/// delivered: the client sees it and is told.
public struct DeliverableDelivery: CommandPayload {
    public static let kind = CommandKind.deliverableDeliver
    public var id: Int64
    public var notes: String?

    public init(id: Int64, notes: String? = nil) {
        self.id = id
        self.notes = notes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, notes }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(notes, "notes", length: 1...5000)
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

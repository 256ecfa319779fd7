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
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/approve")
    public var pathID: Int64? { id }
    public typealias CodingKeys = DeliverableDecisionKeys
    public var id: Int64
    public var notes: String?

    public init(id: Int64, notes: String? = nil) {
        self.id = id
        self.notes = notes
    }
}

/// `deliverable.deliver`: a deliverable in review is approved and delivered in one, or an approved one
/// delivered: the client sees it and is told.
public struct DeliverableDelivery: DeliverableDecision {
    public static let kind = CommandKind.deliverableDeliver
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/deliver")
    public var pathID: Int64? { id }
    public typealias CodingKeys = DeliverableDecisionKeys
    public var id: Int64
    public var notes: String?

    public init(id: Int64, notes: String? = nil) {
        self.id = id
        self.notes = notes
    }
}

/// `deliverable.request_revision`: the reviewer asks for another version. A revision task (priority 5, its
/// parent the work's original task) goes to the same agent and is dispatched; the project's revision count
/// rises. Past the plan's revision rounds it is refused unless `overrideReason` says why.
public struct DeliverableRevisionRequest: CommandPayload {
    public static let kind = CommandKind.deliverableRequestRevision
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/revision")
    public var pathID: Int64? { id }
    public static let issuers = CommandIssuers.both
    public var id: Int64
    /// What to change: the revision task's brief.
    public var notes: String
    public var overrideReason: String?

    public init(id: Int64, notes: String, overrideReason: String? = nil) {
        self.id = id
        self.notes = notes
        self.overrideReason = overrideReason
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, notes, overrideReason }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        try Check.text(notes, "notes", length: 1...5000)
        try Check.text(overrideReason, "overrideReason", length: 1...1000)
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

/// `deliverable.reject`: the version fails review on quality. The agent's failure rate counts it (a quality
/// event), and the work goes again to a different agent of the same specialization, dispatched.
public struct DeliverableRejection: CommandPayload {
    public static let kind = CommandKind.deliverableReject
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/reject")
    public var pathID: Int64? { id }
    public var id: Int64
    /// Why it failed: recorded, and the new task's brief.
    public var notes: String

    public init(id: Int64, notes: String) {
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

/// `deliverable.attach_file`: a file (already in the file store, by its content id) joins a deliverable
/// version. Ingest sends it after it stored an upload.
public struct DeliverableFile: CommandPayload {
    public static let kind = CommandKind.deliverableAttachFile
    public static let route = CommandRoute(.post, "/v1/deliverables/:id/files", upload: true)
    public var pathID: Int64? { id }
    public var id: Int64
    public var fileId: String
    public var name: String
    public var contentType: String
    public var sizeBytes: Int64

    public init(id: Int64, fileId: String, name: String, contentType: String, sizeBytes: Int64) {
        self.id = id
        self.fileId = fileId
        self.name = name
        self.contentType = contentType
        self.sizeBytes = sizeBytes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, fileId, name, contentType, sizeBytes }

    /// What an upload may be.
    public static let contentTypes: Set<String> = [
        "application/pdf", "application/zip", "application/json", "text/plain", "text/markdown", "text/csv",
        "text/html", "image/png", "image/jpeg", "image/gif", "image/svg+xml",
    ]

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        guard fileId.hasPrefix("sha256-"), fileId.utf8.count == 71 else {
            throw ValidationError(field: "fileId", message: "must be a file store id (sha256-<64 hex digits>)")
        }
        try Check.text(name, "name", length: 1...255)
        guard !name.contains("/"), !name.contains("\\"), name != ".", name != ".." else {
            throw ValidationError(field: "name", message: "must be a file name, not a path")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\"" }) else {
            throw ValidationError(field: "name", message: "must not contain control characters or quotes")
        }
        guard Self.contentTypes.contains(contentType) else {
            throw ValidationError(
                field: "contentType", message: "must be one of: \(Self.contentTypes.sorted().joined(separator: ", "))")
        }
        guard sizeBytes > 0 else { throw ValidationError(field: "sizeBytes", message: "must be positive") }
    }

    public var references: [Reference] { [Reference(.deliverable, id, field: "id")] }
}

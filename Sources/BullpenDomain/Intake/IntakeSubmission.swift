import Foundation

/// A brief from the agency's public intake form (`POST /v1/intake`), on its way to become a lead: and, when
/// its address is an active client's, a project in intake. Ingest checks it and publishes it to the command
/// queue; the command worker stores it (``IntakeSubmission/dedupeKey``: the same brief from the same address
/// is one lead, however often it is sent).
public struct IntakeSubmission: BullpenMessage, Equatable {
    public static let name = "intake.submitted"
    public static let queue = WorkQueue.command
    public static let schemaVersion = 1

    public var schema: Int
    public var name: String
    public var email: String
    public var company: String?
    public var brief: String
    /// The plan the person is interested in, if they said.
    public var plan: Plan?
    /// Where the form was (a landing page, a campaign), as the page says.
    public var source: String?
    /// Ingest's digest of the address (lower-cased) and the brief.
    public var dedupeKey: String

    public var messageID: String { "intake:\(dedupeKey)" }

    /// The brief's first line with words on it, at most 120 characters: a project's name, an email's subject.
    public var title: String {
        let lines = brief.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return String((lines.first { !$0.isEmpty } ?? "A brief").prefix(120))
    }
    public var priority: Int? { 2 }

    /// The form's fields: `name`, `email`, `company`, `brief`, `plan`, `source`, and `website`, a field the
    /// page hides from people: bots fill it, so a value there is refused.
    /// `dedupe` digests the address (lower-cased) and the brief (ingest gives SHA-256).
    /// A brief as it was stored.
    public init(
        name: String, email: String, company: String?, brief: String, plan: Plan?, source: String?, dedupeKey: String
    ) {
        schema = Self.schemaVersion
        self.name = name
        self.email = email
        self.company = company
        self.brief = brief
        self.plan = plan
        self.source = source
        self.dedupeKey = dedupeKey
    }

    public init(form body: [UInt8], dedupe: (String, String) -> String) throws(ValidationError) {
        let object = try JSONBody.object(body)
        let fields = ["name", "email", "company", "brief", "plan", "source", "website"]
        for key in object.keys where !fields.contains(key) {
            throw ValidationError(
                field: key, message: "is not a field of the intake form (\(fields.joined(separator: ", ")))")
        }
        if let trap = try JSONBody.optionalString(object, "website"), !trap.isEmpty {
            throw ValidationError(
                field: "website", message: "must be empty: the form hides it from people, and only bots fill it")
        }
        name = try Check.text(JSONBody.requiredString(object, "name"), "name", length: 1...200)
        email = try JSONBody.requiredString(object, "email")
        try Check.email(email, "email")
        company = try JSONBody.optionalString(object, "company")
        try Check.text(company, "company", length: 1...200)
        brief = try Check.text(JSONBody.requiredString(object, "brief"), "brief", length: 1...20_000)
        if let text = try JSONBody.optionalString(object, "plan") {
            guard let plan = Plan(rawValue: text) else {
                throw ValidationError(field: "plan", message: "must be one of: \(Plan.choices)")
            }
            self.plan = plan
        }
        source = try JSONBody.optionalString(object, "source")
        try Check.text(source, "source", length: 1...200)
        dedupeKey = dedupe(email.lowercased(), brief)
        schema = Self.schemaVersion
    }
}

/// A lead's state: new from the form; contacted, converted (it became a client's project) or discarded by the
/// operators.
public enum LeadStatus: String, Choice {
    case new, contacted, converted, discarded
}

/// `lead.update`: an operator moves a lead on: contacted, discarded, or back to new. A lead becomes converted
/// only by the intake of an active client's brief.
public struct LeadChanges: CommandPayload {
    public static let kind = CommandKind.leadUpdate
    public static let route = CommandRoute(.patch, "/v1/leads/:id")
    public var pathID: Int64? { id }
    public var id: Int64
    public var status: LeadStatus

    public enum CodingKeys: String, CodingKey, CaseIterable { case id, status }

    public func validate() throws(ValidationError) {
        try Check.positive(id, "id")
        guard status != .converted else {
            throw ValidationError(
                field: "status", message: "must be new, contacted or discarded (converted is the intake's to set)")
        }
    }

    public var references: [Reference] { [Reference(.lead, id, field: "id")] }
}

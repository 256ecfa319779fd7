/// The owner of an address confirmed, by the link emailed to it, that a brief sent through the intake form
/// naming the address was theirs (`intake.confirmed`, command queue). Ingest publishes it only for a link
/// whose token matches the lead's and has not expired; the command worker then opens the brief as a project
/// of the client whose address it is, once.
public struct IntakeConfirmation: BullpenMessage, Equatable {
    public static let name = "intake.confirmed"
    public static let queue = WorkQueue.command
    public static let schemaVersion = 1
    /// How long a confirmation link holds.
    public static let lifetimeSeconds = 86_400
    /// Confirmation emails one address may be sent in ``lifetimeSeconds`` by briefs it has not confirmed; past
    /// that, a brief naming it is kept as a lead and nothing is sent (a stranger cannot fill its inbox).
    public static let unconfirmedPerAddress = 3

    public var schema: Int
    public var leadId: Int64

    public var messageID: String { "intake-confirmed:\(leadId)" }
    public var priority: Int? { 3 }

    public init(leadId: Int64) {
        schema = Self.schemaVersion
        self.leadId = leadId
    }
}

/// The seed's escalation rules (section 4.4), as pure functions: a task whose SLA goes at risk is raised,
/// once, to the next band; a client's escalation raises its project's open work to the top band, Critical.
public enum Escalation {
    /// The top band: revisions, client-escalated work, SLAs at risk.
    public static let critical = 5

    /// The band above `priority` (Critical stays Critical).
    public static func nextBand(_ priority: Int) -> Int { min(priority + 1, critical) }

    /// What an escalation records on a task: the reason in the operators' words.
    public static func slaReason(slaID: Int64, type: String, from: Int, to: Int) -> String {
        "its SLA \(slaID) (\(type)) went at risk: priority \(from) to \(to)"
    }

    public static func clientReason(_ given: String, from: Int) -> String {
        "the client escalated its project (\(given)): priority \(from) to \(critical)"
    }
}

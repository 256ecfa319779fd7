import BullpenDomain
import Foundation
import PostgreSQL

/// Briefs from the public intake form (`leads`). A brief from an active client's address opens a project in
/// intake under the client's subscription, with the plan's first-response SLA; any other stays a new lead for
/// the operators.
public enum LeadStore {
    public struct Recorded: Sendable, Equatable {
        public var leadID: Int64
        /// Set when the address is an active client's: the lead is converted into this project.
        public var clientID: Int64?
        public var projectID: Int64?
    }

    /// Nil when the same brief from the same address was recorded before (its dedupe key).
    public static func record(
        _ submission: IntakeSubmission, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Recorded? {
        guard
            let leadID: Int64 = try tx.query(
                """
                INSERT INTO leads (name, email, company, brief, plan_interest, source, dedupe_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
                """,
                [
                    submission.name, submission.email, submission.company, submission.brief,
                    submission.plan?.rawValue, submission.source, submission.dedupeKey,
                ]
            ).first?.decode("id")
        else { return nil }
        guard
            let client = try tx.query(
                """
                SELECT c.id, s.id AS subscription_id FROM clients c
                  JOIN subscriptions s ON s.client_id = c.id AND s.status = 'active'
                 WHERE lower(c.email) = lower($1) AND c.status = 'active'
                 ORDER BY s.id DESC LIMIT 1
                """, [submission.email]
            ).first
        else {
            try EventLog.record(
                "lead.received", "Lead \(leadID) (\(submission.name)) sent a brief through the intake form",
                about: .init(), messageID: messageID, in: tx)
            return Recorded(leadID: leadID)
        }
        let clientID: Int64 = try client.decode("id")
        let projectID = try ProjectStore.create(
            NewProject(
                clientId: clientID, name: submission.title, type: "intake", brief: submission.brief,
                subscriptionId: try client.decode("subscription_id")),
            messageID: messageID, now: now, in: tx)
        try tx.query(
            "UPDATE leads SET status = 'converted', client_id = $2 WHERE id = $1", [leadID, clientID])
        try EventLog.record(
            "lead.converted",
            "Lead \(leadID): client \(clientID)'s brief through the intake form opened project \(projectID)",
            about: .init(clientID: clientID, projectID: projectID), messageID: messageID, in: tx)
        return Recorded(leadID: leadID, clientID: clientID, projectID: projectID)
    }

    /// An operator's move of a lead; a converted lead stays converted.
    public static func update(_ changes: LeadChanges, messageID: String, in tx: PGConnection) throws {
        guard
            let row = try tx.query("SELECT status FROM leads WHERE id = $1 FOR UPDATE", [changes.id]).first
        else { throw CommandRejection("there is no lead \(changes.id)") }
        let status: String = try row.decode("status")
        guard status != LeadStatus.converted.rawValue else {
            throw CommandRejection("lead \(changes.id) is converted (its brief is a client's project); it stays so")
        }
        guard status != changes.status.rawValue else { return }
        try tx.query("UPDATE leads SET status = $2 WHERE id = $1", [changes.id, changes.status.rawValue])
        try EventLog.record(
            "lead.updated", "Lead \(changes.id) is \(changes.status.rawValue) (was \(status))", about: .init(),
            messageID: messageID, in: tx)
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// Briefs from the public intake form (`leads`). An address is not an identity: a brief that names an active
/// client's address is kept as a lead and a confirmation is asked of the address (``record(_:messageID:now:
/// confirmTokenHash:in:)``); only its owner's confirmation (``confirm(_:messageID:now:in:)``) opens the brief
/// as a project in intake under the client's subscription, with the plan's first-response SLA. Any other
/// brief stays a new lead for the operators.
public enum LeadStore {
    public struct Recorded: Sendable, Equatable {
        public var leadID: Int64
        /// Set when the address is an active client's (the lead awaits its owner's confirmation).
        public var clientID: Int64?
        /// Whether a confirmation was asked (false when the address has too many unconfirmed briefs).
        public var confirmationAsked: Bool
    }

    /// Nil when the same brief from the same address was recorded before (its dedupe key).
    /// `confirmTokenHash`: the SHA-256 of the token the confirmation link will carry, kept on the lead if the
    /// address is an active client's and has fewer than ``IntakeConfirmation/unconfirmedPerAddress``
    /// confirmations outstanding.
    public static func record(
        _ submission: IntakeSubmission, messageID: String, now: Date, confirmTokenHash: [UInt8],
        in tx: PGConnection
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
        guard let clientID = try activeClient(submission.email, in: tx) else {
            try EventLog.record(
                "lead.received", "Lead \(leadID) (\(submission.name)) sent a brief through the intake form",
                about: .init(), messageID: messageID, in: tx)
            return Recorded(leadID: leadID, clientID: nil, confirmationAsked: false)
        }
        let outstanding: Int =
            try tx.query(
                """
                SELECT count(*) AS n FROM leads
                 WHERE lower(email) = lower($1) AND status = 'new' AND confirm_expires_at > $2
                """, [submission.email, now]
            ).first?.decode("n") ?? 0
        let ask = outstanding < IntakeConfirmation.unconfirmedPerAddress
        if ask {
            try tx.query(
                "UPDATE leads SET confirm_token_hash = $2, confirm_expires_at = $3 WHERE id = $1",
                [leadID, PGBytes(confirmTokenHash), now.addingTimeInterval(Double(IntakeConfirmation.lifetimeSeconds))])
        }
        try EventLog.record(
            "lead.received",
            "Lead \(leadID) (\(submission.name)) sent a brief naming client \(clientID)'s address; "
                + (ask
                    ? "its owner is asked to confirm it"
                    : "no confirmation asked: the address has \(outstanding) outstanding"),
            about: .init(), messageID: messageID, in: tx)
        return Recorded(leadID: leadID, clientID: clientID, confirmationAsked: ask)
    }

    /// The active client whose address this is (with an active subscription), if any.
    static func activeClient(_ email: String, in tx: PGConnection) throws -> Int64? {
        try tx.query(
            """
            SELECT c.id FROM clients c
              JOIN subscriptions s ON s.client_id = c.id AND s.status = 'active'
             WHERE lower(c.email) = lower($1) AND c.status = 'active'
             ORDER BY s.id DESC LIMIT 1
            """, [email]
        ).first?.decode("id")
    }

    /// What a confirmation link is checked against: the lead's token hash, its expiry and status.
    public struct Confirmable: Sendable, Equatable {
        public var tokenHash: [UInt8]
        public var expiresAt: Date
        public var status: String
    }

    /// The confirmation a lead awaits; nil when it awaits none (no such lead, or none was asked).
    public static func confirmable(_ leadID: Int64, on db: PGConnection) throws -> Confirmable? {
        guard
            let row = try db.query(
                """
                SELECT confirm_token_hash, confirm_expires_at, status FROM leads
                 WHERE id = $1 AND confirm_token_hash IS NOT NULL
                """, [leadID]
            ).first
        else { return nil }
        return Confirmable(
            tokenHash: try row.decode("confirm_token_hash", as: PGBytes.self).bytes,
            expiresAt: try row.decode("confirm_expires_at"), status: try row.decode("status"))
    }

    /// The owner confirmed a lead's brief: it opens as a project of the client whose address it is, once. Nil
    /// (nothing done, the reason in the event log) when the lead is no longer new, its link expired, or the
    /// address is no longer an active client's.
    public static func confirm(
        _ leadID: Int64, messageID: String, now: Date, in tx: PGConnection
    ) throws -> (lead: IntakeSubmission, clientID: Int64, projectID: Int64)? {
        guard
            let row = try tx.query(
                """
                SELECT name, email, company, brief, plan_interest, source, dedupe_key, status, confirm_expires_at
                  FROM leads WHERE id = $1 AND confirm_token_hash IS NOT NULL FOR UPDATE
                """, [leadID]
            ).first
        else { throw CommandRejection("lead \(leadID) awaits no confirmation") }
        let submission = IntakeSubmission(
            name: try row.decode("name"), email: try row.decode("email"),
            company: try row.decode("company", as: String?.self), brief: try row.decode("brief"),
            plan: (try row.decode("plan_interest", as: String?.self)).flatMap(Plan.init),
            source: try row.decode("source", as: String?.self), dedupeKey: try row.decode("dedupe_key"))
        let refusal: String?
        let clientID = try activeClient(submission.email, in: tx)
        if try row.decode("status", as: String.self) != LeadStatus.new.rawValue {
            refusal = "it is \(try row.decode("status", as: String.self)) already"
        } else if try row.decode("confirm_expires_at", as: Date.self) < now {
            refusal = "its link expired"
        } else if clientID == nil {
            refusal = "the address is no longer an active client's"
        } else {
            refusal = nil
        }
        guard let clientID, refusal == nil else {
            try EventLog.record(
                "lead.confirmation_refused", "Lead \(leadID)'s confirmation changed nothing: \(refusal ?? "")",
                about: .init(), messageID: messageID, in: tx)
            return nil
        }
        let projectID = try ProjectStore.create(
            NewProject(clientId: clientID, name: submission.title, type: "intake", brief: submission.brief),
            messageID: messageID, now: now, in: tx)
        try tx.query(
            """
            UPDATE leads SET status = 'converted', client_id = $2, confirmed_at = $3, confirm_token_hash = NULL
             WHERE id = $1
            """, [leadID, clientID, now])
        try EventLog.record(
            "lead.converted",
            "Lead \(leadID): client \(clientID) confirmed its brief through the intake form, which opened project \(projectID)",
            about: .init(clientID: clientID, projectID: projectID), messageID: messageID, in: tx)
        return (submission, clientID, projectID)
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

import BullpenDomain
import Foundation
import PostgreSQL

/// Project rows, as operator commands change them. A new project copies its plan's terms (the `plans` table,
/// from `Config/plans.json`) and
/// opens its first-response SLA record.
public enum ProjectStore {
    public static func create(_ new: NewProject, messageID: String, now: Date, in tx: PGConnection) throws -> Int64 {
        var new = new
        if new.tier == nil && new.subscriptionId == nil {
            // Neither given: the client's current subscription.
            guard let current = try currentSubscription(of: new.clientId, in: tx) else {
                throw CommandRejection(
                    "client \(new.clientId) has no active subscription; give the project a tier (\(Plan.choices))")
            }
            new.subscriptionId = current
        }
        var plan = new.tier
        if let subscriptionID = new.subscriptionId {
            guard
                let row = try tx.query(
                    "SELECT client_id, plan, status FROM subscriptions WHERE id = $1", [subscriptionID]
                )
                .first
            else { throw CommandRejection("there is no subscription \(subscriptionID)") }
            guard try row.decode("client_id", as: Int64.self) == new.clientId else {
                throw CommandRejection("subscription \(subscriptionID) is not client \(new.clientId)'s")
            }
            let subscribed = Plan(rawValue: try row.decode("plan", as: String.self))
            if let tier = new.tier, tier != subscribed {
                throw CommandRejection(
                    "tier \(tier.rawValue) differs from subscription \(subscriptionID)'s plan \(subscribed?.rawValue ?? "")"
                )
            }
            plan = subscribed
        }
        guard let plan else { throw CommandRejection("a project needs a tier or a subscription") }
        let terms = try PlanStore.terms(of: plan, in: tx)
        let id: Int64
        do {
            id = try tx.query(
                """
                INSERT INTO projects (client_id, name, type, brief, deadline, tier, subscription_id, sla_response_hours,
                                      sla_delivery_hours, max_revisions, priority, tags)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[]) RETURNING id
                """,
                [
                    new.clientId, new.name, new.type, new.brief, new.deadline?.date, plan.rawValue, new.subscriptionId,
                    terms.responseHours, terms.deliveryHours, terms.maxRevisions, terms.priority,
                    PGArray(new.tags ?? []),
                ]
            ).first!.decode("id")
        } catch let error as PGError where error.sqlState == "23503" {
            throw CommandRejection("there is no client \(new.clientId)")
        }
        try SLAStore.open(.firstResponse, projectID: id, taskID: nil, now: now, in: tx)
        try EventLog.record(
            "project.created", "Project \(id) (\(new.name)) created on the \(plan.rawValue) plan",
            about: .init(clientID: new.clientId, projectID: id), messageID: messageID, in: tx)
        return id
    }

    /// The client's current subscription: its newest active or trialing one.
    public static func currentSubscription(of clientID: Int64, in tx: PGConnection) throws -> Int64? {
        try tx.query(
            """
            SELECT id FROM subscriptions WHERE client_id = $1 AND status IN ('active', 'trialing')
             ORDER BY id DESC LIMIT 1
            """, [clientID]
        ).first?.decode("id")
    }

    public static func update(_ changes: ProjectChanges, messageID: String, in tx: PGConnection) throws {
        guard
            let row = try tx.query(
                """
                UPDATE projects SET name = coalesce($2, name), brief = coalesce($3, brief),
                       deadline = coalesce($4, deadline), tags = coalesce($5::text[], tags)
                 WHERE id = $1 AND status <> 'archived'
                RETURNING client_id
                """,
                [changes.id, changes.name, changes.brief, changes.deadline?.date, changes.tags.map { PGArray($0) }]
            ).first
        else { throw try refusal(projectID: changes.id, doing: "change", in: tx) }
        try EventLog.record(
            "project.updated", "Project \(changes.id) updated",
            about: .init(clientID: try row.decode("client_id"), projectID: changes.id), messageID: messageID, in: tx)
    }

    public static func archive(_ archival: ProjectArchival, messageID: String, in tx: PGConnection) throws {
        let (status, _) = try lock(archival.id, in: tx)
        guard try ProjectStatusWriter.move(archival.id, on: .archive, messageID: messageID, in: tx) != nil else {
            throw CommandRejection("project \(archival.id) is \(status.rawValue) already")
        }
    }

    /// The project's status and client, locked, for an escalation of its work.
    public static func lockForEscalation(_ id: Int64, in tx: PGConnection) throws -> (ProjectStatus, Int64) {
        try lock(id, in: tx)
    }

    /// The project's status and client, its row locked until the transaction ends.
    static func lock(_ id: Int64, in tx: PGConnection) throws -> (ProjectStatus, Int64) {
        guard let row = try tx.query("SELECT status, client_id FROM projects WHERE id = $1 FOR UPDATE", [id]).first
        else { throw CommandRejection("there is no project \(id)") }
        guard let status = ProjectStatus(rawValue: try row.decode("status")) else {
            throw PGError(.decoding, "unknown project status")
        }
        return (status, try row.decode("client_id"))
    }

    private static func refusal(projectID: Int64, doing verb: String, in tx: PGConnection) throws -> CommandRejection {
        let (status, _) = try lock(projectID, in: tx)
        return CommandRejection("project \(projectID) is \(status.rawValue); it cannot \(verb)")
    }
}

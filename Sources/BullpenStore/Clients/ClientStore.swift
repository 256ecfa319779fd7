import BullpenDomain
import PostgreSQL

/// Client rows, as operator commands change them.
public enum ClientStore {
    /// Creates a client; refused when another client has the email.
    public static func create(_ new: NewClient, messageID: String, in tx: PGConnection) throws -> Int64 {
        let id: Int64 = try Refusals.unique("a client with the email \(new.email) exists already") {
            try tx.query(
                """
                INSERT INTO clients (name, email, company, plan, channel, timezone)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                """,
                [new.name, new.email, new.company, new.plan?.rawValue, new.channel?.rawValue, new.timezone]
            ).first!.decode("id")
        }
        try EventLog.record(
            "client.created", "Client \(id) (\(new.name)) created", about: .init(clientID: id), messageID: messageID,
            in: tx)
        return id
    }

    /// Changes the fields given; others stay.
    public static func update(_ changes: ClientChanges, messageID: String, in tx: PGConnection) throws {
        let updated = try Refusals.unique("another client has the email \(changes.email ?? "")") {
            try tx.query(
                """
                UPDATE clients SET name = coalesce($2, name), email = coalesce($3, email),
                       company = coalesce($4, company), plan = coalesce($5, plan), channel = coalesce($6, channel),
                       timezone = coalesce($7, timezone), status = coalesce($8, status)
                 WHERE id = $1
                """,
                [
                    changes.id, changes.name, changes.email, changes.company, changes.plan?.rawValue,
                    changes.channel?.rawValue, changes.timezone, changes.status?.rawValue,
                ]
            ).rowsAffected
        }
        guard updated == 1 else { throw CommandRejection("there is no client \(changes.id)") }
        try EventLog.record(
            "client.updated", "Client \(changes.id) updated", about: .init(clientID: changes.id), messageID: messageID,
            in: tx)
    }
}

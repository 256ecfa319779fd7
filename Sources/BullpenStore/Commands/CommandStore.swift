import BullpenDomain
import PostgreSQL

/// The `commands` table: ingest records a command as accepted before publishing it; the worker that applies it
/// marks it applied (with its result) or rejected (with the reason) in the same transaction as the effect.
public enum CommandStore {
    /// A command as ingest records it. Hashable, so concurrent requests can be recorded in one statement.
    public struct Record: Sendable, Hashable {
        public let id: String
        public let kind: CommandKind
        public let tokenID: Int64
        /// The payload's JSON text.
        public let payload: String
        /// The rows the command names, which must exist (and be the client's, for a client) to be recorded.
        public let references: [Reference]
        /// The client a client token issued it for; nil for an operator.
        public let clientID: Int64?

        public init(
            id: String, kind: CommandKind, tokenID: Int64, payload: String, references: [Reference] = [],
            clientID: Int64? = nil
        ) {
            self.id = id
            self.kind = kind
            self.tokenID = tokenID
            self.payload = payload
            self.references = references
            self.clientID = clientID
        }
    }

    /// What recording found.
    public enum Recorded: Sendable, Equatable {
        /// A new command: publish it.
        case new
        /// The same command (same id, kind and payload) was recorded before; it is in this state.
        case existing(CommandStatus)
        /// The id (so the caller's idempotency key) was used before for another command.
        case conflicting
        /// A row the command names does not exist; nothing was recorded.
        case missing(Reference)
    }

    /// Records many commands in one statement: each whose referenced rows all exist and whose id is new. A
    /// record whose id exists is left as it is.
    public static func record(_ records: [Record], on db: PGConnection) throws -> [Record: Recorded] {
        db.prepare(
            "commands.record",
            """
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[], $5::jsonb[], $6::bigint[])
                    WITH ORDINALITY AS i(id, kind, token_id, payload, refs, client_id, n)
            ), checked AS (
                SELECT i.*, (SELECT e.k - 1 FROM jsonb_array_elements(i.refs) WITH ORDINALITY AS e(r, k)
                              WHERE NOT \(existsSQL("e.r->>0", "(e.r->>1)::bigint", client: "i.client_id"))
                              ORDER BY e.k LIMIT 1) AS missing
                  FROM input i
            ), inserted AS (
                INSERT INTO commands (id, kind, issued_by, payload)
                SELECT DISTINCT ON (id) id, kind, 'token:' || token_id, payload FROM checked WHERE missing IS NULL
                ON CONFLICT (id) DO NOTHING
                RETURNING id, kind, payload
            )
            SELECT i.missing,
                   EXISTS (SELECT 1 FROM inserted n WHERE n.id = i.id AND n.kind = i.kind AND n.payload = i.payload) AS new,
                   c.status, (c.kind = i.kind AND c.payload = i.payload) AS same
              FROM checked i LEFT JOIN LATERAL (SELECT status, kind, payload FROM commands WHERE id = i.id) c ON true
             ORDER BY i.n
            """)
        let result = try db.executePrepared(
            "commands.record",
            [
                PGArray(records.map(\.id)), PGArray(records.map(\.kind.rawValue)),
                PGArray(records.map { String($0.tokenID) }), PGArray(records.map(\.payload)),
                PGArray(records.map { record in Self.referencesJSON(record.references) }),
                PGArray(records.map { $0.clientID.map(String.init) }),
            ])
        var found: [Record: Recorded] = [:]
        for (record, row) in zip(records, result.rows) {
            if let index = try row.decode("missing", as: Int?.self) {
                found[record] = .missing(record.references[index])
            } else if try row.decode("new", as: Bool.self) {
                found[record] = .new
            } else if try row.decode("same", as: Bool?.self) == true,
                let status = CommandStatus(rawValue: try row.decode("status", as: String.self))
            {
                found[record] = .existing(status)
            } else {
                found[record] = .conflicting
            }
        }
        return found
    }

    /// `[["project", 7], ...]`: what the statement checks.
    static func referencesJSON(_ references: [Reference]) -> String {
        "[" + references.map { "[\"\($0.noun.rawValue)\", \($0.id)]" }.joined(separator: ",") + "]"
    }

    /// SQL that is true when the row of noun `noun` (an SQL text expression) and id `id` exists and, when
    /// `client` (an SQL expression) is not NULL, is that client's to act on: its project, a deliverable
    /// delivered to it; nothing else. Scalar subqueries, not EXISTS: the planner may turn an EXISTS into a
    /// hashed subplan that reads the whole table.
    static func existsSQL(_ noun: String, _ id: String, client: String) -> String {
        let cases = Reference.Noun.allCases.map { noun in
            "    WHEN '\(noun.rawValue)' THEN (\(visibleSQL(noun, id, client: client))) IS NOT NULL"
        }
        return "CASE \(noun)\n" + cases.joined(separator: "\n") + "\n    ELSE false END"
    }

    static func visibleSQL(_ noun: Reference.Noun, _ id: String, client: String) -> String {
        switch noun {
        case .project:
            return "SELECT true FROM projects WHERE id = \(id) AND (\(client) IS NULL OR client_id = \(client))"
        case .deliverable:
            return """
                SELECT true FROM deliverables d JOIN projects p ON p.id = d.project_id
                 WHERE d.id = \(id) AND (\(client) IS NULL OR (d.client_visible AND p.client_id = \(client)))
                """
        default:
            return "SELECT true FROM \(table(noun)) WHERE id = \(id) AND \(client) IS NULL"
        }
    }

    static func table(_ noun: Reference.Noun) -> String {
        switch noun {
        case .client: return "clients"
        case .project: return "projects"
        case .task: return "tasks"
        case .agent: return "agents"
        case .subscription: return "subscriptions"
        case .deliverable: return "deliverables"
        case .deadLetter: return "dead_letters"
        case .lead: return "leads"
        }
    }

    /// Locks the command's row for the worker applying it; its status, or nil when there is no row (the
    /// command came from a replay after the row was removed: the worker records it then).
    public static func lock(id: String, in tx: PGConnection) throws -> CommandStatus? {
        tx.prepare("commands.lock", "SELECT status FROM commands WHERE id = $1 FOR UPDATE")
        return try tx.executePrepared("commands.lock", [id]).first
            .flatMap { CommandStatus(rawValue: try $0.decode("status", as: String.self)) }
    }

    /// Records a command that a worker took with no row in the table.
    public static func insertAccepted(_ record: Record, in tx: PGConnection) throws {
        _ = try tx.query(
            "INSERT INTO commands (id, kind, issued_by, payload) VALUES ($1, $2, 'token:' || $3, $4::jsonb)",
            [record.id, record.kind.rawValue, record.tokenID, record.payload])
    }

    /// Marks a command applied, with its result (a JSON object's text: the ids it created).
    public static func markApplied(id: String, result: String, in tx: PGConnection) throws {
        _ = try tx.query(
            "UPDATE commands SET status = 'applied', result = $2::jsonb, completed_at = now() WHERE id = $1",
            [id, result])
    }

    /// Marks a command rejected, with the reason.
    public static func markRejected(id: String, reason: String, in tx: PGConnection) throws {
        _ = try tx.query(
            "UPDATE commands SET status = 'rejected', error = $2, completed_at = now() WHERE id = $1", [id, reason])
    }
}

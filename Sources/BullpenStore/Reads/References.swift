import BullpenDomain
import PostgreSQL

/// Checks that the rows a command names exist, in one query.
public enum References {
    /// The references with no row, in the order given.
    public static func missing(_ references: [Reference], on db: PGConnection) throws -> [Reference] {
        db.prepare(
            "references.missing",
            """
            SELECT i.n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS i(noun, id, n)
             WHERE NOT CASE i.noun
                 WHEN 'client' THEN EXISTS (SELECT 1 FROM clients WHERE id = i.id)
                 WHEN 'project' THEN EXISTS (SELECT 1 FROM projects WHERE id = i.id)
                 WHEN 'task' THEN EXISTS (SELECT 1 FROM tasks WHERE id = i.id)
                 WHEN 'agent' THEN EXISTS (SELECT 1 FROM agents WHERE id = i.id)
                 WHEN 'subscription' THEN EXISTS (SELECT 1 FROM subscriptions WHERE id = i.id)
                 ELSE false END
             ORDER BY i.n
            """)
        let rows = try db.executePrepared(
            "references.missing",
            [PGArray(references.map(\.noun.rawValue)), PGArray(references.map { String($0.id) })]
        ).rows
        return try rows.map { references[Int(try $0.decode("n", as: Int64.self)) - 1] }
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// What a client's week looked like, for the weekly digest of the Pro and Scale plans.
public enum WeeklyDigest {
    public struct Week: Sendable, Equatable {
        public var clientID: Int64
        public var name: String
        public var email: String?
        public var delivered: Int
        public var tasksCompleted: Int
        public var openProjects: Int
        public var inReview: Int
    }

    /// Active clients on the Pro or Scale plan (theirs, or an active subscription's) with something to say
    /// for `[since, until)`: work delivered or completed, or a project still open.
    public static func weeks(since: Date, until: Date, in tx: PGConnection) throws -> [Week] {
        try tx.query(
            """
            SELECT * FROM (
                SELECT c.id, c.name, c.email,
                       (SELECT count(*) FROM deliverables d JOIN projects p ON p.id = d.project_id
                         WHERE p.client_id = c.id AND d.status = 'delivered'
                           AND d.delivered_at >= $1 AND d.delivered_at < $2) AS delivered,
                       (SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id
                         WHERE p.client_id = c.id AND t.status = 'completed'
                           AND t.completed_at >= $1 AND t.completed_at < $2) AS completed,
                       (SELECT count(*) FROM projects p
                         WHERE p.client_id = c.id AND p.status IN ('intake', 'active', 'review')) AS open_projects,
                       (SELECT count(*) FROM deliverables d JOIN projects p ON p.id = d.project_id
                         WHERE p.client_id = c.id AND d.status = 'review') AS in_review
                  FROM clients c
                 WHERE c.status = 'active'
                   AND (c.plan IN ('pro', 'scale')
                        OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.client_id = c.id
                                     AND s.status IN ('active', 'trialing') AND s.plan IN ('pro', 'scale')))
            ) w
             WHERE delivered + completed + open_projects > 0
             ORDER BY id
            """, [since, until]
        ).rows.map {
            Week(
                clientID: try $0.decode("id"), name: try $0.decode("name"),
                email: try $0.decode("email", as: String?.self),
                delivered: try $0.decode("delivered"), tasksCompleted: try $0.decode("completed"),
                openProjects: try $0.decode("open_projects"), inReview: try $0.decode("in_review"))
        }
    }
}

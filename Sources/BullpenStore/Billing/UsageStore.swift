import BullpenDomain
import PostgreSQL

/// Plan usage: which subscription a project's work counts against, what it has used, and the count itself.
public enum UsageStore {
    /// The subscription a project's work counts against: the project's own, else the client's newest.
    static let subscriptionOfProject = """
        SELECT s.* FROM projects p JOIN subscriptions s ON s.id = coalesce(p.subscription_id, (
                   SELECT n.id FROM subscriptions n WHERE n.client_id = p.client_id ORDER BY n.id DESC LIMIT 1))
         WHERE p.id = $1
        """

    /// Counts a delivered deliverable's work once against its subscription, in the period it falls in
    /// (`$1` project, `$2` deliverable, `$3` its task): a later version of the same work, even in a later
    /// period, does not count again. Returns the subscription it counted against, if it counted.
    static let countDelivery = """
        INSERT INTO usage_records (subscription_id, work_task_id, deliverable_id, period_start)
                SELECT s.id, coalesce(t.parent_task_id, t.id), $2, s.period_start
                  FROM (\(subscriptionOfProject)) s, tasks t WHERE t.id = $3
                ON CONFLICT DO NOTHING RETURNING subscription_id
        """

    /// The standing of the subscription a project's work counts against; nil when the client has none (work
    /// the agency arranged outside Stripe is never held). In progress: the client's other works dispatched
    /// (assigned or running, or completed with a version not yet delivered) and not counted yet.
    public static func standing(
        projectID: Int64, excludingWork work: Int64, in tx: PGConnection
    ) throws
        -> UsageHold.Standing?
    {
        guard
            let row = try tx.query(
                """
                WITH s AS (\(subscriptionOfProject))
                SELECT s.id, s.status, s.deliverables_included, s.deliverables_used, pl.name,
                       (SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id
                         WHERE p.client_id = s.client_id AND t.parent_task_id IS NULL AND t.id <> $2
                           AND coalesce(t.task_type, '') <> 'revision'
                           AND (t.status IN ('assigned', 'running')
                                OR (t.status = 'completed' AND EXISTS (
                                        SELECT 1 FROM deliverables d WHERE d.task_id = t.id
                                           AND d.status IN ('review', 'approved'))))
                           AND NOT EXISTS (SELECT 1 FROM usage_records u
                                            WHERE u.subscription_id = s.id AND u.work_task_id = t.id)) AS in_progress
                  FROM s JOIN plans pl ON pl.id = s.plan
                """, [projectID, work]
            ).first
        else { return nil }
        return UsageHold.Standing(
            subscriptionID: try row.decode("id"), planName: try row.decode("name"),
            status: SubscriptionStatus(rawValue: try row.decode("status")) ?? .canceled,
            included: try row.decode("deliverables_included", as: Int?.self), used: try row.decode("deliverables_used"),
            inProgress: try row.decode("in_progress"))
    }
}

extension UsageStore {
    /// A client's dispatches asked for and not started yet go back to pending (their agent kept), each with a
    /// `task.held` event saying why; their queued dispatch requests then find nothing to claim. Returns the
    /// tasks held.
    @discardableResult
    public static func holdQueued(
        clientID: Int64, reason: String, messageID: String, in tx: PGConnection
    ) throws
        -> [Int64]
    {
        guard case .success(let pending) = TaskLifecycle.next(from: .assigned, on: .unassign) else { return [] }
        let held = try tx.query(
            """
            UPDATE tasks t SET status = $2, dispatch_requested_at = NULL, dispatch_priority = NULL, updated_at = now()
              FROM projects p
             WHERE p.id = t.project_id AND p.client_id = $1 AND t.status = 'assigned'
               AND t.dispatch_requested_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.closed_at IS NULL)
            RETURNING t.id, t.project_id
            """, [clientID, pending.rawValue]
        ).rows
        return try held.map { row in
            let id: Int64 = try row.decode("id")
            try EventLog.record(
                "task.held", "Task \(id)'s dispatch is held: \(reason)",
                about: .init(clientID: clientID, projectID: try row.decode("project_id", as: Int64?.self), taskID: id),
                messageID: messageID, in: tx)
            return id
        }
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// The result path's store: loads what ``ResultDecider`` reads (one statement, the tasks locked) and performs
/// the plan it returns (one statement for the whole batch: tasks, attempts, time entries, versions, events,
/// notifications, outbox rows, project moves; then the agents' statistics in a short one of their own).
public enum ResultEffects {
    /// Loads the snapshot of a batch's tasks, their projects, what their runs' end may free, and ids for the
    /// rows the plan may write. Nothing is locked: ``perform(_:outbox:in:)`` settles each task only if it is still
    /// where the snapshot saw it, and says how many it settled (locking the rows first cost a second write of
    /// every task row).
    public static func load(_ results: [TaskResultMessage], in tx: PGConnection) throws -> ResultDecider.Snapshot {
        let needed = ResultDecider.idsNeeded(results)
        // Prepared with its generic plan: its accesses are index probes whatever the parameters, and planning
        // it for every batch cost more than running it. The connection makes the plan anew every
        // `replanInterval` (10 s): one made while `deliverables` was empty scanned it whole on every batch.
        try tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        tx.prepare("results.load", loadSQL)
        guard
            let row = try tx.executePrepared(
                "results.load",
                [PGArray(results.map { String($0.taskId) }), needed.deliverables, needed.notifications]
            ).first
        else { throw PGError(.decoding, "the result snapshot returned no row") }
        let document: String = try row.decode(at: 0)
        return try JSONDecoder().decode(ResultDecider.Snapshot.self, from: Data(document.utf8))
    }

    /// An outbox row the plan's effects send once committed; `notificationID`: only if that notification was
    /// written (a notification whose key was written before is not sent again).
    public struct OutboxRow: Sendable, Equatable {
        public var messageID: String
        public var queue: String
        public var type: String
        public var priority: Int?
        public var body: [UInt8]
        public var notificationID: Int64?

        public init(
            messageID: String, queue: String, type: String, priority: Int?, body: [UInt8], notificationID: Int64? = nil
        ) {
            self.messageID = messageID
            self.queue = queue
            self.type = type
            self.priority = priority
            self.body = body
            self.notificationID = notificationID
        }
    }

    /// Performs a plan (with no refusals) in one statement, and the agents' statistics in a second; returns how many tasks it settled (each only if
    /// still running that attempt, as the snapshot found it). Fewer than the plan's settlements means another
    /// transaction moved a task meanwhile: the caller rolls the plan back.
    @discardableResult
    public static func perform(
        _ plan: ResultDecider.Plan, outbox: [OutboxRow], in tx: PGConnection
    ) throws -> Int {
        precondition(plan.refusals.isEmpty, "a plan with refusals is parked, not performed")
        guard !plan.settlements.isEmpty else { return 0 }
        func ids(_ values: [Int64?]) -> PGArray { PGArray(values.map { $0.map(String.init) }) }
        func ints(_ values: [Int]) -> PGArray { PGArray(values.map(String.init)) }
        let s = plan.settlements
        let v = plan.versions
        let n = plan.notifications
        let m = plan.projectMoves
        let events = plan.events
        let encoder = JSONEncoder()
        let data = try n.map { String(decoding: try encoder.encode($0.draft.data), as: UTF8.self) }
        tx.prepare("results.perform", performSQL)
        let rows = try tx.executePrepared(
            "results.perform",
            [
                ids(s.map(\.taskID)), ints(s.map(\.attempt)), PGArray(s.map(\.outcome.rawValue)),
                PGArray(s.map(\.status.rawValue)), PGArray(s.map(\.output)), PGArray(s.map(\.error)),
                PGArray(s.map { $0.retried ? "t" : "f" }),
                ids(v.map(\.id)), ids(v.map(\.taskID)), ids(v.map(\.projectID)), PGArray(v.map(\.title)),
                PGArray(v.map(\.content)), PGArray(v.map(\.status.rawValue)), ints(v.map(\.version)),
                ids(v.map(\.previousID)),
                PGArray(events.map(\.type)), PGArray(events.map(\.message)), PGArray(events.map(\.data)),
                ids(events.map(\.agentID)), ids(events.map(\.projectID)), ids(events.map(\.taskID)),
                ids(events.map(\.deliverableID)), ids(events.map(\.clientID)), PGArray(events.map(\.messageID)),
                ids(n.map(\.id)), PGArray(n.map(\.draft.key)), PGArray(n.map(\.draft.kind.rawValue)),
                PGArray(n.map(\.draft.channel.rawValue)), PGArray(n.map(\.draft.recipient)),
                ids(n.map(\.draft.clientID)), ids(n.map(\.draft.projectID)), ids(n.map(\.draft.taskID)),
                PGArray(data),
                PGArray(outbox.map(\.messageID)), PGArray(outbox.map(\.queue)), PGArray(outbox.map(\.type)),
                PGArray(outbox.map { $0.priority.map(String.init) }), PGArray(outbox.map { PGBytes($0.body).pgText }),
                ids(outbox.map(\.notificationID)),
                ids(m.map(\.projectID)), PGArray(m.map(\.from.rawValue)), PGArray(m.map(\.to.rawValue)),
                PGArray(m.map(\.event.message)), ids(m.map(\.event.clientID)), PGArray(m.map(\.event.messageID)),
            ])
        let settled = try rows.first?.decode("settled", as: Int?.self) ?? 0
        var agents: [String] = []
        var done: [String] = []
        var failed: [String] = []
        var doneMs: [String] = []
        for row in rows.rows {
            guard let agent = try row.decode("agent_id", as: Int64?.self) else { continue }
            agents.append(String(agent))
            done.append(String(try row.decode("done", as: Int64.self)))
            failed.append(String(try row.decode("failed", as: Int64.self)))
            doneMs.append(String(try row.decode("done_ms", as: Int64.self)))
        }
        if !agents.isEmpty {
            tx.prepare("results.count_runs", countRunsSQL)
            try tx.executePrepared(
                "results.count_runs", [PGArray(agents), PGArray(done), PGArray(failed), PGArray(doneMs)])
        }
        return settled
    }

    /// One JSON document: the tasks, their projects' other work, each agent's next waiting task,
    /// the tasks that depend on the batch's with their unfinished dependencies, and ids taken from the
    /// deliverables' and notifications' sequences.
    static let loadSQL = """
        WITH batch AS (
            SELECT t.id, t.status, t.attempt, t.assigned_agent_id, t.project_id, t.title, t.priority, t.retry_count,
                   t.max_retries, coalesce(t.parent_task_id, t.id) AS work_id
              FROM tasks t WHERE t.id = ANY($1::bigint[])
        ), task_rows AS (
            SELECT b.*, w.title AS work_title, v.id AS latest_id, v.version AS latest_version
              FROM batch b JOIN tasks w ON w.id = b.work_id
              LEFT JOIN LATERAL (\(DeliverableStore.latestVersion(ofWork: "b.work_id"))) v ON true
        )
        SELECT json_build_object(
            'tasks', coalesce((SELECT json_agg(json_build_object(
                'id', id, 'status', status, 'attempt', attempt, 'agentID', assigned_agent_id, 'projectID', project_id,
                'title', title, 'priority', priority, 'retryCount', retry_count, 'maxRetries', max_retries,
                'workID', work_id, 'workTitle', work_title, 'latestVersionID', latest_id,
                'latestVersion', latest_version)) FROM task_rows), '[]'),
            'projects', coalesce((SELECT json_agg(json_build_object(
                'id', p.id, 'clientID', p.client_id, 'status', p.status, 'work', json_build_object(
                    'pending', EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id AND t.status = 'pending'
                                          AND t.id <> ALL($1::bigint[]))::int,
                    'started', EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id
                                          AND t.status IN ('assigned', 'running') AND t.id <> ALL($1::bigint[]))::int,
                    'awaiting', EXISTS (SELECT 1 FROM deliverables d WHERE d.project_id = p.id
                                           AND d.status IN ('draft', 'review', 'approved'))::int,
                    'delivered', EXISTS (SELECT 1 FROM deliverables d WHERE d.project_id = p.id
                                            AND d.status = 'delivered')::int)))
                FROM projects p WHERE p.id IN (SELECT project_id FROM batch)), '[]'),
            'waiting', coalesce((SELECT json_agg(json_build_object(
                'agentID', w.assigned_agent_id, 'taskID', w.id, 'priority', w.dispatch_priority)) FROM (
                    SELECT DISTINCT ON (w.assigned_agent_id) w.assigned_agent_id, w.id, w.dispatch_priority
                      FROM tasks w
                     WHERE w.assigned_agent_id IN (SELECT assigned_agent_id FROM batch)
                       AND w.dispatch_requested_at IS NOT NULL AND w.status = 'assigned'
                       AND w.id <> ALL($1::bigint[])
                     ORDER BY w.assigned_agent_id, w.dispatch_priority DESC, w.dispatch_requested_at, w.id
                ) w), '[]'),
            'dependents', coalesce((SELECT json_agg(json_build_object(
                'taskID', t.id, 'projectID', t.project_id, 'status', t.status, 'unfinished', (
                    SELECT coalesce(json_agg(o.depends_on_task_id), '[]') FROM task_dependencies o
                      JOIN tasks u ON u.id = o.depends_on_task_id
                     WHERE o.task_id = t.id AND u.status <> 'completed')))
                FROM tasks t
               WHERE t.id IN (SELECT d.task_id FROM task_dependencies d WHERE d.depends_on_task_id = ANY($1::bigint[]))),
                '[]'),
            'deliverableIDs', (SELECT coalesce(json_agg(nextval(pg_get_serial_sequence('deliverables', 'id'))), '[]')
                                 FROM generate_series(1, $2::int)),
            'notificationIDs', (SELECT coalesce(json_agg(nextval(pg_get_serial_sequence('notifications', 'id'))), '[]')
                                  FROM generate_series(1, $3::int))
        )::text
        """

    /// The plan, as parallel arrays, in one statement: the tasks settled (conditional on the state the
    /// snapshot saw), their attempts closed with the report's digest, time entries, versions, events,
    /// notifications and their outbox rows (only those written), the other outbox rows, the projects'
    /// moves with their events (only those still where the snapshot saw them); it returns how many tasks it
    /// settled and the runs it closed per agent, for ``countRunsSQL``.
    static let performSQL = """
        WITH input AS (
            SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[])
                AS i(task_id, attempt, outcome, status, output, error, retried)
        ), settled AS (
            UPDATE tasks t
               SET status = i.status, updated_at = now(),
                   completed_at = CASE WHEN i.retried THEN NULL ELSE now() END,
                   result = CASE WHEN i.outcome = 'completed' THEN i.output ELSE t.result END,
                   error = CASE WHEN i.outcome = 'failed' THEN i.error ELSE t.error END,
                   actual_duration_ms = CASE WHEN t.started_at IS NULL THEN NULL
                                             ELSE (extract(epoch FROM now() - t.started_at) * 1000)::bigint END,
                   retry_count = t.retry_count + CASE WHEN i.retried THEN 1 ELSE 0 END,
                   dispatch_requested_at = CASE WHEN i.retried THEN now() ELSE t.dispatch_requested_at END,
                   dispatch_priority = CASE WHEN i.retried THEN t.priority ELSE t.dispatch_priority END
              FROM input i
             WHERE t.id = i.task_id AND t.status = 'running' AND t.attempt = i.attempt
            RETURNING t.id, i.attempt, i.outcome, i.output, i.error
        ), closed AS (
            UPDATE task_attempts a SET closed_at = now(), outcome = s.outcome,
                   report_digest = sha256(convert_to(
                       s.outcome || chr(31) || coalesce(s.output, '') || chr(31) || coalesce(s.error, ''), 'UTF8'))
              FROM settled s
             WHERE a.task_id = s.id AND a.attempt = s.attempt AND a.closed_at IS NULL
            RETURNING a.task_id, a.attempt, a.agent_id, a.outcome, a.opened_at, a.closed_at,
                      greatest(0, (extract(epoch FROM a.closed_at - a.opened_at) * 1000)::bigint) AS ms
        ), timed AS (
            INSERT INTO time_entries (project_id, task_id, agent_id, type, duration_ms, started_at, ended_at, description)
            SELECT t.project_id, c.task_id, c.agent_id, 'agent_execution', c.ms, c.opened_at, c.closed_at,
                   'attempt ' || c.attempt || ': ' || c.outcome
              FROM closed c JOIN tasks t ON t.id = c.task_id WHERE t.project_id IS NOT NULL
        ), opened AS (
            INSERT INTO deliverables (id, task_id, project_id, title, content, format, status, version,
                                      previous_version_id)
            OVERRIDING SYSTEM VALUE
            SELECT v.* FROM unnest($8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::text[],
                                   array_fill('markdown'::text, ARRAY[cardinality($8::bigint[])]), $13::text[],
                                   $14::int[], $15::bigint[])
                AS v(id, task_id, project_id, title, content, format, status, version, previous_version_id)
             WHERE v.task_id IN (SELECT id FROM settled)
            RETURNING id
        ), notified AS (
            INSERT INTO notifications (id, key, kind, channel, recipient, client_id, project_id, task_id, data)
            OVERRIDING SYSTEM VALUE
            SELECT n.id, n.key, n.kind, n.channel, n.recipient, n.client_id, n.project_id, n.task_id, n.data::jsonb
              FROM unnest($25::bigint[], $26::text[], $27::text[], $28::text[], $29::text[], $30::bigint[],
                          $31::bigint[], $32::bigint[], $33::text[])
                   AS n(id, key, kind, channel, recipient, client_id, project_id, task_id, data)
            ON CONFLICT (key) DO NOTHING
            RETURNING id
        ), sent AS (
            INSERT INTO outbox (message_id, queue, message_type, priority, body)
            SELECT o.message_id, o.queue, o.message_type, o.priority, o.body
              FROM unnest($34::text[], $35::text[], $36::text[], $37::int[], $38::bytea[], $39::bigint[])
                   AS o(message_id, queue, message_type, priority, body, notification_id)
             WHERE o.notification_id IS NULL OR o.notification_id IN (SELECT id FROM notified)
            ON CONFLICT DO NOTHING
        ), moved AS (
            UPDATE projects p SET status = m.status,
                   delivered_at = CASE WHEN m.status = 'delivered' THEN now() ELSE NULL END
              FROM unnest($40::bigint[], $41::text[], $42::text[], $43::text[], $44::bigint[], $45::text[])
                   AS m(id, from_status, status, message, client_id, message_id)
             WHERE p.id = m.id AND p.status = m.from_status
            RETURNING p.id, m.status, m.message, m.client_id, m.message_id
        ), logged AS (
            -- One insert, so that the events' ids follow the plan's order, the projects' moves last.
            INSERT INTO events (type, message, data, agent_id, project_id, task_id, deliverable_id, client_id, message_id)
            SELECT type, message, data, agent_id, project_id, task_id, deliverable_id, client_id, message_id FROM (
                SELECT e.type, e.message, e.data::jsonb AS data, e.agent_id, e.project_id, e.task_id, e.deliverable_id,
                       e.client_id, e.message_id, e.n
                  FROM unnest($16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[],
                              $22::bigint[], $23::bigint[], $24::text[]) WITH ORDINALITY
                       AS e(type, message, data, agent_id, project_id, task_id, deliverable_id, client_id, message_id, n)
                 WHERE e.deliverable_id IS NULL OR e.deliverable_id IN (SELECT id FROM opened)
                UNION ALL
                SELECT 'project.' || m.status, m.message, '{}'::jsonb, NULL, m.id, NULL, NULL, m.client_id, m.message_id,
                       cardinality($16::text[]) + row_number() OVER (ORDER BY m.id)
                  FROM moved m
            ) all_events
             ORDER BY n
        ), runs AS (
            SELECT agent_id, count(*) FILTER (WHERE outcome = 'completed') AS done,
                   count(*) FILTER (WHERE outcome <> 'completed') AS failed,
                   coalesce(sum(ms) FILTER (WHERE outcome = 'completed'), 0) AS done_ms
              FROM closed WHERE agent_id IS NOT NULL GROUP BY agent_id
        )
        SELECT s.n AS settled, r.agent_id, r.done, r.failed, r.done_ms
          FROM (SELECT count(*)::int AS n FROM settled) s LEFT JOIN runs r ON true
        """

    /// The agents' statistics for the runs a plan closed, in their own statement after the plan's: the agents'
    /// rows locked in id order, `FOR NO KEY UPDATE` (the plan's inserts hold the key-share locks their foreign
    /// keys take on the same rows). Last in the transaction, so that a busy agent's row is held only for the
    /// commit: inside the plan's statement it was held through every foreign-key check at the statement's end,
    /// and consumers whose tasks share an agent waited on each other.
    static let countRunsSQL = """
        WITH runs AS (
            SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[]) AS r(agent_id, done, failed, done_ms)
        ), locked AS (
            SELECT g.id FROM agents g WHERE g.id = ANY($1::bigint[]) ORDER BY g.id FOR NO KEY UPDATE
        )
        UPDATE agents g
           SET last_seen = greatest(g.last_seen, now()),
               total_tasks_completed = g.total_tasks_completed + r.done,
               total_tasks_failed = g.total_tasks_failed + r.failed,
               avg_completion_time_ms = CASE WHEN r.done = 0 THEN g.avg_completion_time_ms
                   ELSE ((coalesce(g.avg_completion_time_ms, 0) * g.total_tasks_completed + r.done_ms)
                         / (g.total_tasks_completed + r.done))::bigint END,
               failure_rate = coalesce((g.total_tasks_failed + r.failed)::float8
                   / nullif(g.total_tasks_completed + r.done + g.total_tasks_failed + r.failed, 0), 0)
          FROM runs r
         WHERE g.id = r.agent_id AND g.id IN (SELECT id FROM locked)
        """

}

import BullpenDomain
import PostgreSQL

/// Task rows: the lifecycle's transitions as conditional updates. The rules (which state may follow which)
/// are ``TaskLifecycle``'s; the store only performs a transition it is given, and a task that is no longer
/// in the transition's source state is left alone, so a race loses cleanly.
public enum TaskStore {
    /// One agent result to apply: task `taskID`, at `attempt`, moves `from` -> `to`.
    public struct Settlement: Sendable {
        public var taskID: Int64
        public var attempt: Int
        public var from: TaskStatus
        public var to: TaskStatus
        public var output: String?
        public var error: String?
        public var eventType: String
        public var eventMessage: String
        public var messageID: String

        public init(
            taskID: Int64, attempt: Int, from: TaskStatus, to: TaskStatus, output: String?, error: String?,
            eventType: String, eventMessage: String, messageID: String
        ) {
            precondition(to.isFinal, "a result moves a task to a final state")
            self.taskID = taskID
            self.attempt = attempt
            self.from = from
            self.to = to
            self.output = output
            self.error = error
            self.eventType = eventType
            self.eventMessage = eventMessage
            self.messageID = messageID
        }
    }

    /// A run a settlement closed: for its agent's statistics.
    public struct ClosedRun: Sendable, Equatable {
        public var agentID: Int64
        public var completed: Bool
        public var milliseconds: Int64
    }

    /// What a batch settled: the tasks, and the runs it closed.
    public struct Settled: Sendable, Equatable {
        public var tasks: Set<Int64> = []
        public var runs: [ClosedRun] = []
    }

    /// Settles tasks with agent results, in one statement for the whole batch: each task in its
    /// transition's source state at that attempt moves to the final state, with its result or error; its
    /// dispatch attempt closes with the outcome; an events row records it (its data: the attempt and the
    /// output's size in bytes). Returns the tasks it settled and the runs it closed; a result whose task is
    /// in another state, or at another attempt, changes nothing. The agents' statistics are the caller's to
    /// count, last (``countRuns(_:in:)``).
    public static func settle(_ batch: [Settlement], in tx: PGConnection) throws -> Settled {
        let result: PGResult
        if batch.count == 1, let one = batch.first {
            // One result (no batching): plain parameters, cheaper for the server than arrays of one.
            tx.prepare("task.settle_one", settleOneSQL)
            result = try tx.executePrepared(
                "task.settle_one",
                [
                    one.taskID, one.attempt, one.from.rawValue, one.to.rawValue, one.output, one.error, one.eventType,
                    one.eventMessage, one.messageID,
                ])
        } else {
            tx.prepare("task.settle_many", settleManySQL)
            result = try tx.executePrepared(
                "task.settle_many",
                [
                    PGArray(batch.map { String($0.taskID) }), PGArray(batch.map { String($0.attempt) }),
                    PGArray(batch.map(\.from.rawValue)), PGArray(batch.map(\.to.rawValue)),
                    PGArray(batch.map(\.output)), PGArray(batch.map(\.error)), PGArray(batch.map(\.eventType)),
                    PGArray(batch.map(\.eventMessage)), PGArray(batch.map(\.messageID)),
                ])
        }
        var settled = Settled()
        for row in result.rows {
            settled.tasks.insert(try row.decode("id"))
            if let agent = try row.decode("agent_id", as: Int64?.self) {
                settled.runs.append(
                    ClosedRun(
                        agentID: agent, completed: try row.decode("completed", as: Bool?.self) ?? false,
                        milliseconds: try row.decode("ms", as: Int64?.self) ?? 0))
            }
        }
        return settled
    }

    /// Counts closed runs in their agents' statistics (completed, failed, the mean completion time, the
    /// failure rate): one statement, the agents' rows locked in id order (so consumers counting at once cannot
    /// deadlock) and `FOR NO KEY UPDATE`: the transaction's own inserts (events, time entries) already hold
    /// the key-share locks that their foreign keys take on the same rows, which `FOR UPDATE` would wait on in
    /// every other consumer (a deadlock, measured: 294 in one drain). Run it last in the transaction: a busy
    /// agent's row is then held only until the commit, not for the whole settling (with one agent, every
    /// consumer waits on that row).
    public static func countRuns(_ runs: [ClosedRun], in tx: PGConnection) throws {
        guard !runs.isEmpty else { return }
        var perAgent: [Int64: (done: Int, failed: Int, doneMs: Int64)] = [:]
        for run in runs {
            var counts = perAgent[run.agentID] ?? (0, 0, 0)
            if run.completed {
                counts.done += 1
                counts.doneMs += run.milliseconds
            } else {
                counts.failed += 1
            }
            perAgent[run.agentID] = counts
        }
        let agents = perAgent.keys.sorted()
        tx.prepare(
            "task.count_runs",
            """
            WITH p AS (
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[]) AS p(agent_id, done, failed, done_ms)
            ), locked AS (
                SELECT g.id FROM agents g WHERE g.id = ANY($1::bigint[]) ORDER BY g.id FOR NO KEY UPDATE
            )
            UPDATE agents g
               SET last_seen = greatest(g.last_seen, now()),
                   total_tasks_completed = g.total_tasks_completed + p.done,
                   total_tasks_failed = g.total_tasks_failed + p.failed,
                   avg_completion_time_ms = CASE WHEN p.done = 0 THEN g.avg_completion_time_ms
                       ELSE ((coalesce(g.avg_completion_time_ms, 0) * g.total_tasks_completed + p.done_ms)
                             / (g.total_tasks_completed + p.done))::bigint END,
                   failure_rate = coalesce((g.total_tasks_failed + p.failed)::float8
                       / nullif(g.total_tasks_completed + p.done + g.total_tasks_failed + p.failed, 0), 0)
              FROM p
             WHERE g.id = p.agent_id AND g.id IN (SELECT id FROM locked)
            """)
        try tx.executePrepared(
            "task.count_runs",
            [
                PGArray(agents.map(String.init)), PGArray(agents.map { String(perAgent[$0]!.done) }),
                PGArray(agents.map { String(perAgent[$0]!.failed) }),
                PGArray(agents.map { String(perAgent[$0]!.doneMs) }),
            ])
    }

    private static let settleOneSQL = "WITH input AS (\(oneInput)), \(settleFromInput)"
    private static let settleManySQL = "WITH input AS (\(manyInput)), \(settleFromInput)"

    /// The input of a settlement as one row of parameters.
    private static let oneInput = """
        SELECT $1::bigint AS task_id, $2::int AS attempt, $3::text AS from_status, $4::text AS status,
               $5::text AS output, $6::text AS error, $7::text AS event_type, $8::text AS event_message,
               $9::text AS message_id
        """

    /// SHA-256 of what the settled result said (SQL over `s`, the settled row): the same bytes as
    /// ``TaskResultReport/digestInput``, which ingest hashes to tell a replay from another report.
    static let reportDigest = """
        sha256(convert_to(s.status || chr(31) || coalesce(s.output, '') || chr(31) || coalesce(s.error, ''), 'UTF8'))
        """

    /// The input of many settlements as parallel arrays.
    private static let manyInput = """
        SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::text[])
            AS i(task_id, attempt, from_status, status, output, error, event_type, event_message, message_id)
        """

    /// The settlement itself, written once for both inputs: the conditional update, the attempt closed, its
    /// time entry, the events row; it returns each settled task with its closed run, for ``countRuns(_:in:)``.
    private static let settleFromInput = """
        settled AS (
            UPDATE tasks t
               SET status = i.status, completed_at = now(), updated_at = now(),
                   result = CASE WHEN i.status = 'completed' THEN i.output ELSE t.result END,
                   error = CASE WHEN i.status = 'failed' THEN i.error ELSE t.error END,
                   actual_duration_ms = CASE WHEN t.started_at IS NULL THEN NULL
                                             ELSE (extract(epoch FROM now() - t.started_at) * 1000)::bigint END
              FROM input i
             WHERE t.id = i.task_id AND t.status = i.from_status AND t.attempt = i.attempt
            RETURNING t.id, t.assigned_agent_id, t.project_id, i.attempt, i.status, i.event_type, i.event_message,
                      i.output, i.error,
                      jsonb_build_object('attempt', i.attempt, 'outputBytes', coalesce(octet_length(i.output), 0))
                          AS event_data,
                      i.message_id
        ), closed AS (
            UPDATE task_attempts a SET closed_at = now(), outcome = s.status, report_digest = \(reportDigest)
              FROM settled s
             WHERE a.task_id = s.id AND a.attempt = s.attempt AND a.closed_at IS NULL
            RETURNING a.task_id, a.attempt, a.agent_id, a.outcome, a.opened_at, a.closed_at, s.project_id,
                      greatest(0, (extract(epoch FROM a.closed_at - a.opened_at) * 1000)::bigint) AS ms
        ), timed AS (
            INSERT INTO time_entries (project_id, task_id, agent_id, type, duration_ms, started_at, ended_at, description)
            SELECT project_id, task_id, agent_id, 'agent_execution', ms, opened_at, closed_at,
                   'attempt ' || attempt || ': ' || outcome
              FROM closed WHERE project_id IS NOT NULL
        ), logged AS (
            INSERT INTO events (type, message, data, agent_id, project_id, task_id, message_id)
            SELECT event_type, event_message, event_data, assigned_agent_id, project_id, id, message_id FROM settled
        )
        SELECT s.id, c.agent_id, c.outcome = 'completed' AS completed, c.ms
          FROM settled s LEFT JOIN closed c ON c.task_id = s.id
        """

    /// Says why a settlement cannot apply.
    public static func explainRefusal(_ settlement: Settlement, in tx: PGConnection) throws -> String {
        let taskID = settlement.taskID
        let found = try tx.query("SELECT status, attempt FROM tasks WHERE id = $1", [taskID])
        guard let row = found.first else { return "task \(taskID) does not exist" }
        let status: String = try row.decode("status")
        let current: Int = try row.decode("attempt")
        if current != settlement.attempt {
            return "task \(taskID) is at attempt \(current); a result for attempt \(settlement.attempt) is stale"
        }
        return "task \(taskID) is \(status), not \(settlement.from.rawValue); its result cannot apply"
    }
}

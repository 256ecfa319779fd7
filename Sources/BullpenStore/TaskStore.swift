import BullpenDomain
import PostgreSQL

/// Task rows: the lifecycle's transitions as conditional updates.
public enum TaskStore {
    /// What settling a task touched.
    public struct Settled: Sendable, Equatable {
        public let agentID: Int64?
        public let projectID: Int64?
    }

    /// Moves a running task of this attempt to `status` (completed or failed), closes the attempt and writes
    /// the events row, in one statement. Returns nil, changing nothing, when the task is not running that attempt.
    public static func settle(
        taskID: Int64, attempt: Int, to status: TaskStatus, output: String?, error: String?,
        event: (type: String, message: String, dataJSON: String, messageID: String), in tx: PGConnection
    ) throws -> Settled? {
        precondition(status.isFinal, "settle only moves a task to a final state")
        tx.prepare("task.settle", """
            WITH settled AS (
                UPDATE tasks
                   SET status = $3, completed_at = now(), updated_at = now(),
                       result = CASE WHEN $3 = 'completed' THEN $4 ELSE result END,
                       error = CASE WHEN $3 = 'failed' THEN $5 ELSE error END,
                       actual_duration_ms = CASE WHEN started_at IS NULL THEN NULL
                                                 ELSE (extract(epoch FROM now() - started_at) * 1000)::bigint END
                 WHERE id = $1 AND status = 'running' AND attempt = $2
                RETURNING id, assigned_agent_id, project_id
            ), closed AS (
                UPDATE task_attempts SET closed_at = now(), outcome = $3
                 WHERE task_id = $1 AND attempt = $2 AND closed_at IS NULL AND EXISTS (SELECT 1 FROM settled)
            ), logged AS (
                INSERT INTO events (type, message, data, agent_id, project_id, task_id, message_id)
                SELECT $6, $7, $8::jsonb, assigned_agent_id, project_id, id, $9 FROM settled
            )
            SELECT assigned_agent_id, project_id FROM settled
            """)
        let updated = try tx.executePrepared("task.settle", [
            taskID, attempt, status.rawValue, output, error, event.type, event.message, event.dataJSON, event.messageID,
        ])
        guard let row = updated.first else { return nil }
        return Settled(agentID: try row.decode("assigned_agent_id", as: Int64?.self),
                       projectID: try row.decode("project_id", as: Int64?.self))
    }

    /// One task result of a batch.
    public struct Settlement: Sendable {
        public var taskID: Int64
        public var attempt: Int
        public var status: TaskStatus
        public var output: String?
        public var error: String?
        public var eventType: String
        public var eventMessage: String
        public var eventDataJSON: String
        public var messageID: String

        public init(
            taskID: Int64, attempt: Int, status: TaskStatus, output: String?, error: String?, eventType: String,
            eventMessage: String, eventDataJSON: String, messageID: String
        ) {
            self.taskID = taskID
            self.attempt = attempt
            self.status = status
            self.output = output
            self.error = error
            self.eventType = eventType
            self.eventMessage = eventMessage
            self.eventDataJSON = eventDataJSON
            self.messageID = messageID
        }
    }

    /// ``settle(taskID:attempt:to:output:error:event:in:)`` for many results in one statement. Returns the
    /// ids of the tasks it settled; a result whose task was not running that attempt changes nothing.
    public static func settle(_ batch: [Settlement], in tx: PGConnection) throws -> Set<Int64> {
        tx.prepare("task.settle_batch", """
            WITH input AS (
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
                                     $7::text[], $8::jsonb[], $9::text[])
                    AS i(task_id, attempt, status, output, error, event_type, event_message, event_data, message_id)
            ), settled AS (
                UPDATE tasks t
                   SET status = i.status, completed_at = now(), updated_at = now(),
                       result = CASE WHEN i.status = 'completed' THEN i.output ELSE t.result END,
                       error = CASE WHEN i.status = 'failed' THEN i.error ELSE t.error END,
                       actual_duration_ms = CASE WHEN t.started_at IS NULL THEN NULL
                                                 ELSE (extract(epoch FROM now() - t.started_at) * 1000)::bigint END
                  FROM input i
                 WHERE t.id = i.task_id AND t.status = 'running' AND t.attempt = i.attempt
                RETURNING t.id, t.assigned_agent_id, t.project_id, i.attempt, i.status, i.event_type, i.event_message,
                          i.event_data, i.message_id
            ), closed AS (
                UPDATE task_attempts a SET closed_at = now(), outcome = s.status
                  FROM settled s
                 WHERE a.task_id = s.id AND a.attempt = s.attempt AND a.closed_at IS NULL
            ), logged AS (
                INSERT INTO events (type, message, data, agent_id, project_id, task_id, message_id)
                SELECT event_type, event_message, event_data, assigned_agent_id, project_id, id, message_id FROM settled
            )
            SELECT id FROM settled
            """)
        let result = try tx.executePrepared("task.settle_batch", [
            PGArray(batch.map { String($0.taskID) }), PGArray(batch.map { String($0.attempt) }),
            PGArray(batch.map { $0.status.rawValue }), PGArray(batch.map(\.output)), PGArray(batch.map(\.error)),
            PGArray(batch.map(\.eventType)), PGArray(batch.map(\.eventMessage)), PGArray(batch.map(\.eventDataJSON)),
            PGArray(batch.map(\.messageID)),
        ])
        return Set(try result.rows.map { try $0.decode(at: 0, as: Int64.self) })
    }

    /// Says why a result for this task and attempt cannot apply.
    public static func explainNotRunning(taskID: Int64, attempt: Int, in tx: PGConnection) throws -> String {
        let found = try tx.query("SELECT status, attempt FROM tasks WHERE id = $1", [taskID])
        guard let row = found.first else { return "task \(taskID) does not exist" }
        let status: String = try row.decode("status")
        let current: Int = try row.decode("attempt")
        if current != attempt {
            return "task \(taskID) is at attempt \(current); a result for attempt \(attempt) is stale"
        }
        return "task \(taskID) is \(status), not running; its result cannot apply"
    }
}

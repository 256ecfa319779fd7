import BullpenDomain
import Foundation
import PostgreSQL

/// The SQL of dispatch: asking for a task's dispatch (with routing when nobody assigned it), claiming it when
/// its agent has room (opening the next attempt, its run id and callback token hash on record before the
/// gateway hears of it), recording the run's start or that it could not be started, and picking the next
/// waiting task when a slot frees.
public enum TaskDispatching {
    /// Runs a statement of the dispatch path as a prepared statement: parsed and planned once per connection
    /// (a profile of the dispatch benchmark showed PostgreSQL parsing and planning them for every dispatch).
    @discardableResult
    static func prepared(
        _ name: String, _ sql: String, _ parameters: [(any PGEncodable)?], in tx: PGConnection
    ) throws -> PGResult {
        tx.prepare(name, sql)
        return try tx.executePrepared(name, parameters)
    }

    // MARK: asking

    /// What a dispatch request decided.
    public struct Requested: Sendable, Equatable {
        public let taskID: Int64
        public let agentID: Int64
        public let priority: Int
    }

    /// `task.dispatch`: loads what ``DispatchDecider`` reads (the task's row locked), and writes what it
    /// decides: the task assigned and waiting for its dispatch at its dispatch priority, the project's SLA
    /// clocks started, a `task.dispatch_requested` event with the decision's reasons. Returns what the
    /// dispatch request carries; a rule that refuses throws its ``CommandRejection``.
    public static func request(
        _ dispatch: TaskDispatch, messageID: String, now: Date, in tx: PGConnection
    ) throws -> Requested {
        guard let snapshot = try dispatchSnapshot(dispatch.id, naming: dispatch.agentId, in: tx) else {
            throw CommandRejection("there is no task \(dispatch.id)")
        }
        let decision = try DispatchDecider.request(dispatch, snapshot, now: now)
        let about = EventLog.Subject(
            clientID: snapshot.clientID, projectID: snapshot.projectID, taskID: dispatch.id, agentID: decision.agentID)
        if let overridden = decision.overridden {
            try EventLog.record(
                "billing.hold_overridden",
                "Task \(dispatch.id) dispatched past a hold (\(overridden.hold)): \(overridden.reason)",
                about: .init(clientID: snapshot.clientID, projectID: snapshot.projectID, taskID: dispatch.id),
                messageID: messageID, in: tx)
        }
        let agentName =
            try tx.query("SELECT name FROM agents WHERE id = $1", [decision.agentID]).first?.decode(
                "name", as: String.self) ?? "agent \(decision.agentID)"
        try tx.query(
            """
            UPDATE tasks SET status = $4, assigned_agent_id = $2, dispatch_requested_at = now(),
                             dispatch_priority = $3, updated_at = now()
             WHERE id = $1
            """, [dispatch.id, decision.agentID, decision.priority, TaskStatus.assigned.rawValue])
        if let projectID = snapshot.projectID {
            // The agency's first response to the project; the work's delivery clock (a revision's runs from
            // its request).
            try SLAStore.firstResponse(projectID: projectID, now: now, in: tx)
            if snapshot.taskType != .revision {
                try SLAStore.open(.deliverableDue, projectID: projectID, taskID: snapshot.work, now: now, in: tx)
            }
        }
        try EventLog.record(
            "task.dispatch_requested",
            "Task \(dispatch.id) to be dispatched to \(agentName) at priority \(decision.priority)",
            data: String(decoding: try JSONBody.encode(["reasons": decision.reasons]), as: UTF8.self),
            about: about, messageID: messageID, in: tx)
        try ProjectStatusWriter.settle(ofTasks: [dispatch.id], messageID: messageID, in: tx)
        return Requested(taskID: dispatch.id, agentID: decision.agentID, priority: decision.priority)
    }

    /// What the dispatch rules read of a task, its row locked; nil when there is no such task. The agents are
    /// the ones the rules may look at: every agent when routing will choose (a pending task, no agent named),
    /// otherwise the named or assigned one.
    static func dispatchSnapshot(
        _ taskID: Int64, naming named: Int64?, in tx: PGConnection
    ) throws -> DispatchDecider.Snapshot? {
        guard
            let row = try tx.query(
                """
                SELECT t.status, t.project_id, t.assigned_agent_id, t.priority, t.task_type, t.required_specialization,
                       coalesce(t.parent_task_id, t.id) AS work,
                       EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.closed_at IS NULL) AS open_attempt,
                       p.priority AS plan_priority, p.deadline, p.client_id
                  FROM tasks t LEFT JOIN projects p ON p.id = t.project_id
                 WHERE t.id = $1 FOR UPDATE OF t
                """, [taskID]
            ).first
        else { return nil }
        let projectID = try row.decode("project_id", as: Int64?.self)
        let work: Int64 = try row.decode("work")
        let status = TaskStatus(rawValue: try row.decode("status")) ?? .failed
        let assigned = try row.decode("assigned_agent_id", as: Int64?.self)
        let routing = status == .pending && named == nil
        return DispatchDecider.Snapshot(
            taskID: taskID, status: status, projectID: projectID,
            clientID: try row.decode("client_id", as: Int64?.self),
            assignedAgentID: assigned,
            taskPriority: try row.decode("priority"),
            taskType: try row.decode("task_type", as: String?.self).flatMap(TaskType.init(rawValue:)),
            requiredSpecialization: try row.decode("required_specialization", as: String?.self).flatMap(
                Specialization.init(rawValue:)),
            work: work, openAttempt: try row.decode("open_attempt"),
            planPriority: try row.decode("plan_priority", as: Int?.self),
            deadline: try row.decode("deadline", as: Date?.self),
            unfinishedDependencies: try unfinishedDependencies(of: taskID, in: tx),
            standing: try projectID.flatMap { try UsageStore.standing(projectID: $0, excludingWork: work, in: tx) },
            agents: try candidates(routing ? nil : [named ?? assigned].compactMap { $0 }, in: tx))
    }

    /// The tasks `taskID` depends on that have not completed.
    static func unfinishedDependencies(of taskID: Int64, in tx: PGConnection) throws -> [Int64] {
        try tx.query(
            """
            SELECT d.depends_on_task_id AS id FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_task_id
             WHERE d.task_id = $1 AND t.status <> 'completed' ORDER BY 1
            """, [taskID]
        ).rows.map { try $0.decode("id") }
    }

    /// Pending tasks that depend on nothing unfinished, in open projects, highest priority and oldest first:
    /// what auto-dispatch sends.
    public static func dispatchable(limit: Int, in tx: PGConnection) throws -> [Int64] {
        try tx.query(
            """
            SELECT t.id FROM tasks t LEFT JOIN projects p ON p.id = t.project_id
             WHERE t.status = 'pending' AND (p.id IS NULL OR p.status NOT IN ('archived', 'delivered'))
               AND NOT EXISTS (SELECT 1 FROM task_dependencies o JOIN tasks u ON u.id = o.depends_on_task_id
                                WHERE o.task_id = t.id AND u.status <> 'completed')
             ORDER BY t.priority DESC, t.created_at, t.id
             LIMIT $1
            """, [limit]
        ).rows.map { try $0.decode("id") }
    }

    /// Agents as routing sees them, with their open attempts: these (`ids`), or every one.
    static func candidates(_ ids: [Int64]? = nil, in tx: PGConnection) throws -> [AgentCandidate] {
        try tx.query(
            """
            SELECT a.id, a.status, a.specialization, a.custom_for_client_id, a.failure_rate, a.avg_completion_time_ms,
                   a.max_concurrent_tasks,
                   (SELECT count(*) FROM task_attempts o WHERE o.agent_id = a.id AND o.closed_at IS NULL) AS open_runs
              FROM agents a WHERE $1::bigint[] IS NULL OR a.id = ANY($1::bigint[])
            """, [ids.map { PGArray($0.map(String.init)) }]
        ).rows.map { row in
            AgentCandidate(
                id: try row.decode("id"), status: AgentStatus(rawValue: try row.decode("status")) ?? .offline,
                specialization: try row.decode("specialization", as: String?.self).flatMap(
                    Specialization.init(rawValue:)),
                customForClientID: try row.decode("custom_for_client_id", as: Int64?.self),
                failureRate: try row.decode("failure_rate"),
                averageCompletionMs: try row.decode("avg_completion_time_ms", as: Int64?.self),
                openRuns: try row.decode("open_runs"), maxConcurrentTasks: try row.decode("max_concurrent_tasks"))
        }
    }

    // MARK: claiming

    /// What a claim found for one task.
    public enum Claim: Sendable, Equatable {
        /// The attempt is open: start its run.
        case opened(attempt: Int, runID: String, priority: Int)
        /// The agent is at capacity (or offline): the task waits for a slot.
        case waiting(reason: String)
        /// The task no longer waits for a dispatch (cancelled, dispatched already): nothing to do.
        case obsolete
    }

    /// A task asking for its dispatch, and the message that asks.
    public struct ClaimRequest: Sendable, Equatable {
        public var taskID: Int64
        public var messageID: String

        public init(taskID: Int64, messageID: String) {
            self.taskID = taskID
            self.messageID = messageID
        }
    }

    /// Opens the next attempt of each task that still waits for a dispatch and whose agent has room, as
    /// ``SlotAllocation`` decides: the tasks' rows, then their agents' rows, are locked in id order, so
    /// concurrent claims cannot both take an agent's last slot, nor deadlock. Three statements for any number
    /// of tasks. `tokenHash` gives the SHA-256 of the callback token of a run id. One claim per request, in
    /// order.
    public static func claim(
        _ requests: [ClaimRequest], tokenHash: (String) -> [UInt8], in tx: PGConnection
    ) throws -> [Claim] {
        // The rows are found by id alone and what they say is checked here: with a condition on the status in
        // the statement, the planner may scan every task of that status (it did, for a backlog of 20,000
        // waiting tasks whose statistics said there were none) instead of probing the primary key.
        let ids = PGArray(Set(requests.map(\.taskID)).map(String.init))
        var tasks: [Int64: (attempt: Int, agentID: Int64, priority: Int, projectID: Int64?)] = [:]
        for row in try prepared(
            "dispatch.claim_tasks",
            """
            SELECT id, status, attempt, assigned_agent_id, dispatch_priority, project_id
              FROM tasks WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
            """, [ids], in: tx
        ).rows {
            guard try row.decode("status", as: String.self) == TaskStatus.assigned.rawValue,
                let agentID = try row.decode("assigned_agent_id", as: Int64?.self),
                let priority = try row.decode("dispatch_priority", as: Int?.self)
            else { continue }
            tasks[try row.decode("id")] = (
                try row.decode("attempt"), agentID, priority, try row.decode("project_id", as: Int64?.self)
            )
        }
        guard !tasks.isEmpty else { return requests.map { _ in .obsolete } }
        var slots: [Int64: SlotAllocation.Slots] = [:]
        for row in try prepared(
            "dispatch.claim_agents",
            """
            SELECT id, status, max_concurrent_tasks,
                   (SELECT count(*) FROM task_attempts o WHERE o.agent_id = a.id AND o.closed_at IS NULL) AS open_runs
              FROM agents a WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
            """, [PGArray(Set(tasks.values.map(\.agentID)).map(String.init))], in: tx
        ).rows {
            slots[try row.decode("id")] = SlotAllocation.Slots(
                offline: !(AgentStatus(rawValue: try row.decode("status", as: String.self)) ?? .offline).takesWork,
                openRuns: try row.decode("open_runs"), maxConcurrentTasks: try row.decode("max_concurrent_tasks"))
        }
        // A task asked for twice in one batch is claimed once: the first request decides.
        var seen = Set<Int64>()
        let asking = requests.indices.filter {
            tasks[requests[$0].taskID] != nil && seen.insert(requests[$0].taskID).inserted
        }
        let decisions = SlotAllocation.allocate(
            asking.map { index in
                let task = tasks[requests[index].taskID]!
                return SlotAllocation.Request(
                    taskID: requests[index].taskID, agentID: task.agentID, priority: task.priority)
            }, slots: slots)
        var claims = [Claim](repeating: .obsolete, count: requests.count)
        var opened: [(request: ClaimRequest, attempt: Int, runID: String, agentID: Int64, projectID: Int64?)] = []
        for (index, decision) in zip(asking, decisions) {
            let request = requests[index]
            let task = tasks[request.taskID]!
            switch decision {
            case .wait(let reason):
                claims[index] = .waiting(reason: reason)
            case .open:
                let attempt = task.attempt + 1
                let runID = RunID.make(taskId: request.taskID, attempt: attempt)
                claims[index] = .opened(attempt: attempt, runID: runID, priority: task.priority)
                opened.append((request, attempt, runID, task.agentID, task.projectID))
            }
        }
        guard !opened.isEmpty else { return claims }
        try prepared(
            "dispatch.claim_open",
            """
            WITH input AS (
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bytea[], $5::bigint[], $6::text[])
                    AS i(task_id, attempt, run_id, token_hash, agent_id, message_id)
            ), attempts AS (
                INSERT INTO task_attempts (task_id, attempt, run_id, callback_token_hash, agent_id,
                                           dispatch_requested_at, dispatch_priority)
                SELECT i.task_id, i.attempt, i.run_id, i.token_hash, i.agent_id, t.dispatch_requested_at,
                       t.dispatch_priority
                  FROM input i JOIN tasks t ON t.id = i.task_id
            ), claimed AS (
                UPDATE tasks t SET attempt = i.attempt, dispatch_requested_at = NULL, dispatch_priority = NULL,
                                   updated_at = now()
                  FROM input i WHERE t.id = i.task_id
                RETURNING t.id, t.project_id, i.attempt, i.run_id, i.agent_id, i.message_id
            )
            INSERT INTO events (type, message, data, project_id, task_id, agent_id, message_id)
            SELECT 'task.dispatched', 'Task ' || id || ' attempt ' || attempt || ' opened as run ' || run_id, '{}',
                   project_id, id, agent_id, message_id
              FROM claimed
            """,
            [
                PGArray(opened.map { String($0.request.taskID) }), PGArray(opened.map { String($0.attempt) }),
                PGArray(opened.map(\.runID)), PGArray(opened.map { PGBytes(tokenHash($0.runID)).pgText }),
                PGArray(opened.map { String($0.agentID) }), PGArray(opened.map(\.request.messageID)),
            ], in: tx)
        return claims
    }

    // MARK: the run

    /// What the gateway needs to start an attempt's run.
    public struct RunContext: Sendable, Equatable {
        public let taskID: Int64
        public let projectID: Int64?
        public let attempt: Int
        public let runID: String
        /// When the attempt was opened (before its run was first sent).
        public let openedAt: Date
        public let open: Bool
        /// Closed because its run could not be started (parked).
        public let spawnFailed: Bool
        /// The task's latest attempt.
        public let current: Bool
        public let taskStatus: TaskStatus
        public let title: String
        public let description: String?
        public let taskType: String?
        public let estimatedDurationMs: Int64?
        public let projectName: String?
        public let brief: String?
        public let agentID: Int64
        public let agentName: String
        public let soul: String?
        /// A Scale client's configuration of this agent: its system prompt and brand guidelines.
        public let clientSystemPrompt: String?
        public let clientBrandGuidelines: String?
        /// The configuration's model (`provider/model`), thinking level and knowledge base.
        public let model: String?
        public let thinking: ThinkingLevel?
        public let knowledge: [KnowledgeDocument]
    }

    /// The run contexts of attempts (task id, attempt), the tasks' rows locked in id order; an attempt that
    /// does not exist has none.
    public static func runContexts(
        _ attempts: [(taskID: Int64, attempt: Int)], in tx: PGConnection
    ) throws -> [RunContext] {
        try prepared(
            "dispatch.run_contexts",
            """
            SELECT a.task_id, a.attempt, a.run_id, a.opened_at, a.closed_at IS NULL AS open, a.outcome,
                   t.attempt AS current_attempt, t.status, t.project_id,
                   t.title, t.description, t.task_type, t.estimated_duration_ms, p.name AS project_name, p.brief,
                   ag.id AS agent_id, ag.name AS agent_name, ag.soul, c.system_prompt, c.brand_guidelines,
                   c.model, c.thinking,
                   (SELECT json_agg(json_build_object('name', k.name, 'contentType', k.content_type, 'text', k.body)
                                    ORDER BY k.name)
                      FROM agent_knowledge k WHERE k.config_id = c.id) AS knowledge
              FROM unnest($1::bigint[], $2::int[]) AS i(task_id, attempt)
              JOIN task_attempts a ON a.task_id = i.task_id AND a.attempt = i.attempt
              JOIN tasks t ON t.id = a.task_id
              JOIN agents ag ON ag.id = a.agent_id
              LEFT JOIN projects p ON p.id = t.project_id
              LEFT JOIN agent_configs c ON c.agent_id = ag.id AND c.client_id = p.client_id
             ORDER BY t.id
             FOR UPDATE OF t
            """, [PGArray(attempts.map { String($0.taskID) }), PGArray(attempts.map { String($0.attempt) })], in: tx
        ).rows.map { row in
            RunContext(
                taskID: try row.decode("task_id"), projectID: try row.decode("project_id", as: Int64?.self),
                attempt: try row.decode("attempt"), runID: try row.decode("run_id"),
                openedAt: try row.decode("opened_at"), open: try row.decode("open"),
                spawnFailed: try row.decode("outcome", as: String?.self) == "spawn_failed",
                current: try row.decode("current_attempt", as: Int.self) == (try row.decode("attempt", as: Int.self)),
                taskStatus: TaskStatus(rawValue: try row.decode("status")) ?? .failed, title: try row.decode("title"),
                description: try row.decode("description", as: String?.self),
                taskType: try row.decode("task_type", as: String?.self),
                estimatedDurationMs: try row.decode("estimated_duration_ms", as: Int64?.self),
                projectName: try row.decode("project_name", as: String?.self),
                brief: try row.decode("brief", as: String?.self), agentID: try row.decode("agent_id"),
                agentName: try row.decode("agent_name"), soul: try row.decode("soul", as: String?.self),
                clientSystemPrompt: try row.decode("system_prompt", as: String?.self),
                clientBrandGuidelines: try row.decode("brand_guidelines", as: String?.self),
                model: try row.decode("model", as: String?.self),
                thinking: try row.decode("thinking", as: String?.self).flatMap(ThinkingLevel.init(rawValue:)),
                knowledge: try row.decode("knowledge", as: String?.self).map {
                    try JSONDecoder().decode([KnowledgeDocument].self, from: Data($0.utf8))
                } ?? [])
        }
    }

    /// A run the gateway accepted, and the message that started it.
    public struct StartedRun: Sendable, Equatable {
        public var context: RunContext
        public var sessionKey: String
        /// The timeout the gateway was given: the run must have ended by then.
        public var timeoutSeconds: Int
        public var messageID: String
        /// What the run was asked to use beyond its agent (model, thinking, documents).
        public var options: RunOptions

        public init(
            _ context: RunContext, sessionKey: String, timeoutSeconds: Int, messageID: String,
            options: RunOptions = RunOptions()
        ) {
            self.context = context
            self.sessionKey = sessionKey
            self.timeoutSeconds = timeoutSeconds
            self.messageID = messageID
            self.options = options
        }
    }

    /// The gateway accepted the runs: each attempt's session key, its task running, with a `task.started`
    /// event. One statement for any number of runs. The caller holds the tasks' rows (``runContexts(_:in:)``)
    /// and passes only runs of tasks still waiting for their start (assigned).
    public static func started(_ runs: [StartedRun], in tx: PGConnection) throws {
        try prepared(
            "dispatch.started",
            """
            WITH input AS (
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::int[], $6::jsonb[])
                    AS i(task_id, attempt, session_key, message_id, timeout_s, options)
            ), sessions AS (
                UPDATE task_attempts a SET session_key = i.session_key, deadline_at = now() + i.timeout_s * interval '1 second',
                                           run_options = i.options
                  FROM input i WHERE a.task_id = i.task_id AND a.attempt = i.attempt
            ), running AS (
                UPDATE tasks t SET status = 'running', started_at = now(), dispatched_session_key = i.session_key,
                                   updated_at = now()
                  FROM input i WHERE t.id = i.task_id
                RETURNING t.id, t.project_id, t.assigned_agent_id, i.attempt, i.message_id
            )
            INSERT INTO events (type, message, data, project_id, task_id, agent_id, message_id)
            SELECT 'task.started', 'Task ' || r.id || ' run ' || a.run_id || ' accepted by the gateway', '{}',
                   r.project_id, r.id, a.agent_id, r.message_id
              FROM running r JOIN task_attempts a ON a.task_id = r.id AND a.attempt = r.attempt
            """,
            [
                PGArray(runs.map { String($0.context.taskID) }), PGArray(runs.map { String($0.context.attempt) }),
                PGArray(runs.map(\.sessionKey)), PGArray(runs.map(\.messageID)),
                PGArray(runs.map { String($0.timeoutSeconds) }),
                PGArray(
                    runs.map { String(decoding: (try? JSONBody.encode($0.options)) ?? Array("{}".utf8), as: UTF8.self) }
                ),
            ], in: tx)
        if let first = runs.first {
            try ProjectStatusWriter.settle(ofTasks: runs.map(\.context.taskID), messageID: first.messageID, in: tx)
        }
    }

    /// Open attempts whose run is past its deadline by more than `grace`, oldest first, up to `limit`: the
    /// gateway has ended them (it enforces the timeout) but neither the final reply nor the callback came.
    public static func stuckAttempts(
        grace: Duration, limit: Int, in tx: PGConnection
    ) throws -> [(taskID: Int64, attempt: Int)] {
        try tx.query(
            """
            SELECT task_id, attempt FROM task_attempts
             WHERE closed_at IS NULL AND deadline_at < now() - $1 * interval '1 second'
             ORDER BY deadline_at LIMIT $2
            """, [Double(grace.components.seconds), limit]
        ).rows.map { (try $0.decode("task_id"), try $0.decode("attempt")) }
    }

    /// An open attempt whose run is past its deadline, with what the gateway knows it by.
    public struct StuckRun: Sendable, Equatable {
        public let taskID: Int64
        public let attempt: Int
        public let runID: String
        public let sessionKey: String?
    }

    /// ``stuckAttempts(grace:limit:in:)`` with their run ids and session keys, for asking the gateway.
    public static func stuckRuns(grace: Duration, limit: Int, on db: PGConnection) throws -> [StuckRun] {
        try db.query(
            """
            SELECT task_id, attempt, run_id, session_key FROM task_attempts
             WHERE closed_at IS NULL AND deadline_at < now() - $1 * interval '1 second'
             ORDER BY deadline_at LIMIT $2
            """, [Double(grace.components.seconds), limit]
        ).rows.map {
            StuckRun(
                taskID: try $0.decode("task_id"), attempt: try $0.decode("attempt"), runID: try $0.decode("run_id"),
                sessionKey: try $0.decode("session_key", as: String?.self))
        }
    }

    /// A run start replayed from the dead-letter queue, for the task's latest attempt, closed because its run
    /// could not be started, of a task that failed for it: the attempt opens again (same run id: its run never
    /// started, or the gateway's idempotency or session check says so) and the task waits for the start again,
    /// through the lifecycle's retry and assign. False when that does not hold (nothing changes).
    public static func reopenSpawnFailed(_ run: RunContext, messageID: String, in tx: PGConnection) throws -> Bool {
        guard run.spawnFailed, run.current, run.taskStatus == .failed,
            case .success(let pending) = TaskLifecycle.next(from: .failed, on: .retry),
            case .success(let assigned) = TaskLifecycle.next(from: pending, on: .assign)
        else { return false }
        try tx.query(
            "UPDATE task_attempts SET closed_at = NULL, outcome = NULL WHERE task_id = $1 AND attempt = $2",
            [run.taskID, run.attempt])
        try tx.query(
            """
            UPDATE tasks SET status = $2, error = NULL, completed_at = NULL, updated_at = now()
             WHERE id = $1 AND status = 'failed'
            """, [run.taskID, assigned.rawValue])
        try EventLog.record(
            "task.dispatch_replayed",
            "Task \(run.taskID) attempt \(run.attempt): run start replayed after dispatch failed",
            about: .init(projectID: run.projectID, taskID: run.taskID, agentID: run.agentID), messageID: messageID,
            in: tx)
        return true
    }

    /// The run could not be started (the gateway refused, or stayed down past the last retry): the attempt
    /// closes as spawn_failed and the task fails with the reason, for an operator to look at.
    /// Returns the closed attempt's task (its project and title), for the operators' alert; nil when the
    /// attempt was closed already.
    @discardableResult
    public static func spawnFailed(
        taskID: Int64, attempt: Int, reason: String, messageID: String, in tx: PGConnection
    ) throws -> (projectID: Int64?, title: String)? {
        let closed = try tx.query(
            """
            UPDATE task_attempts a SET closed_at = now(), outcome = 'spawn_failed'
              FROM tasks t
             WHERE a.task_id = $1 AND a.attempt = $2 AND a.closed_at IS NULL AND t.id = a.task_id
            RETURNING a.agent_id, t.project_id, t.title
            """, [taskID, attempt]
        ).first
        guard let closed else { return nil }
        try tx.query(
            """
            UPDATE tasks SET status = 'failed', error = $2, completed_at = now(), updated_at = now()
             WHERE id = $1 AND status = 'assigned'
            """, [taskID, "dispatch failed: \(String(reason.prefix(900)))"])
        try EventLog.record(
            "task.dispatch_failed", "Task \(taskID) attempt \(attempt): dispatch failed: \(reason.prefix(300))",
            about: .init(
                projectID: try closed.decode("project_id", as: Int64?.self), taskID: taskID,
                agentID: try closed.decode("agent_id", as: Int64?.self)),
            messageID: messageID, in: tx)
        return (try closed.decode("project_id", as: Int64?.self), try closed.decode("title"))
    }
}

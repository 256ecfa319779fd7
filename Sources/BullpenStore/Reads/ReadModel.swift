import BullpenDomain
import PostgreSQL

/// The read API's queries: every list and every single row as JSON rendered by PostgreSQL, each restricted to
/// what the ``Viewer`` may see in its WHERE clause. A row the viewer may not see is reported as missing (nil),
/// exactly as a row that does not exist, so ids cannot be probed.
public enum ReadModel {
    // MARK: clients

    /// `email`: the client with that address, whatever its case (the addresses are unique so).
    public static func clients(
        _ page: PageRequest, status: String?, email: String? = nil, viewer: Viewer, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT id, \(clientJSON) AS item FROM clients c
             WHERE ($1::bigint IS NULL OR c.id = $1) AND c.id > $2 AND ($4::text IS NULL OR c.status = $4)
               AND ($5::text IS NULL OR lower(c.email) = lower($5))
             ORDER BY c.id LIMIT $3
            """, name: "read.clients", viewer: viewer, filters: [status, email], on: db)
    }

    public static func client(_ id: Int64, viewer: Viewer, on db: PGConnection) throws -> String? {
        try one(
            """
            SELECT \(clientJSON)::jsonb || jsonb_build_object('projects', coalesce((
                       SELECT jsonb_agg(\(projectJSON) ORDER BY p.id) FROM projects p WHERE p.client_id = c.id), '[]'))
                   AS item
              FROM clients c WHERE c.id = $2 AND ($1::bigint IS NULL OR c.id = $1)
            """, name: "read.client", id: id, viewer: viewer, on: db)
    }

    // MARK: projects

    public static func projects(
        _ page: PageRequest, status: String?, clientID: Int64?, viewer: Viewer, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT id, \(projectJSON) AS item FROM projects p
             WHERE ($1::bigint IS NULL OR p.client_id = $1) AND p.id > $2
               AND ($4::text IS NULL OR p.status = $4) AND ($5::bigint IS NULL OR p.client_id = $5)
             ORDER BY p.id LIMIT $3
            """, name: "read.projects", viewer: viewer, filters: [status, clientID], on: db)
    }

    /// A project with all its tasks, visible versions and SLA records (the API's `GET /v1/projects/{id}`).
    public static func project(_ id: Int64, viewer: Viewer, on db: PGConnection) throws -> String? {
        try one(
            """
            SELECT \(projectJSON)::jsonb || jsonb_build_object(
                       'tasks', coalesce((SELECT jsonb_agg(\(taskJSON) ORDER BY t.id) FROM tasks t WHERE t.project_id = p.id), '[]'),
                       'deliverables', coalesce((SELECT jsonb_agg(\(versionRowJSON) ORDER BY d.id)
                         FROM deliverables d WHERE d.project_id = p.id AND (\(deliverableVisible))), '[]'),
                       'slaRecords', \(projectSLARecords)) AS item
              FROM projects p WHERE p.id = $2 AND ($1::bigint IS NULL OR p.client_id = $1)
            """, name: "read.project", id: id, viewer: viewer, on: db)
    }

    /// A project as its web page shows it: its tasks' and visible versions' counts (`taskCount`, `tasksDone`,
    /// `deliverableCount`), its latest `latest` tasks and versions (all of them when nil; oldest first either
    /// way), every task still running or assigned (`running`, listed or not), and its SLA records. Only what
    /// is shown is built: a long project costs its counts, not its whole history, on every view.
    public static func projectPage(_ id: Int64, latest: Int?, viewer: Viewer, on db: PGConnection) throws -> String? {
        db.prepare(
            "read.project_page",
            """
            SELECT \(projectJSON)::jsonb || jsonb_build_object(
                       'taskCount', (SELECT count(*) FROM tasks t WHERE t.project_id = p.id),
                       'tasksDone', (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'completed'),
                       'tasks', coalesce((SELECT jsonb_agg(l.item ORDER BY l.id) FROM (
                           SELECT t.id, \(taskJSON) AS item FROM tasks t WHERE t.project_id = p.id
                            ORDER BY t.id DESC LIMIT $3) l), '[]'),
                       'running', coalesce((SELECT jsonb_agg(\(taskJSON) ORDER BY t.id) FROM tasks t
                           WHERE t.project_id = p.id AND t.status IN ('running', 'assigned')), '[]'),
                       'deliverableCount', (SELECT count(*) FROM deliverables d
                           WHERE d.project_id = p.id AND (\(deliverableVisible))),
                       'deliverables', coalesce((SELECT jsonb_agg(l.item ORDER BY l.id) FROM (
                           SELECT d.id, \(versionRowJSON) AS item FROM deliverables d
                            WHERE d.project_id = p.id AND (\(deliverableVisible)) ORDER BY d.id DESC LIMIT $3) l), '[]'),
                       'slaRecords', \(projectSLARecords)) AS item
              FROM projects p WHERE p.id = $2 AND ($1::bigint IS NULL OR p.client_id = $1)
            """)
        return try db.executePrepared("read.project_page", [viewer.clientID, id, latest]).first?.decode("item")
    }

    /// A version as a project lists it (`d`).
    static let versionRowJSON = """
        jsonb_build_object(
            'id', d.id, 'taskId', d.task_id, 'title', d.title, 'format', d.format, 'status', d.status,
            'version', d.version, 'createdAt', d.created_at, 'deliveredAt', d.delivered_at)
        """

    /// Project `p`'s SLA records, oldest first.
    static let projectSLARecords = """
        coalesce((SELECT jsonb_agg(jsonb_build_object(
            'id', s.id, 'type', s.type, 'status', s.status, 'deadlineAt', s.deadline_at,
            'startedAt', s.started_at, 'completedAt', s.completed_at, 'targetHours', s.target_hours,
            'actualHours', s.actual_hours) ORDER BY s.id)
          FROM sla_records s WHERE s.project_id = p.id), '[]')
        """

    // MARK: tasks

    public static func tasks(
        _ page: PageRequest, status: String?, projectID: Int64?, agentID: Int64?, viewer: Viewer, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT id, \(taskJSON)::text AS item FROM tasks t
             WHERE ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM projects p WHERE p.id = t.project_id AND p.client_id = $1))
               AND t.id > $2 AND ($4::text IS NULL OR t.status = $4) AND ($5::bigint IS NULL OR t.project_id = $5)
               AND ($6::bigint IS NULL OR t.assigned_agent_id = $6)
             ORDER BY t.id LIMIT $3
            """, name: "read.tasks", viewer: viewer, filters: [status, projectID, agentID], on: db)
    }

    public static func task(_ id: Int64, viewer: Viewer, on db: PGConnection) throws -> String? {
        try one(
            """
            SELECT \(taskJSON) || jsonb_build_object(
                       'events', coalesce((SELECT jsonb_agg(\(eventJSON) ORDER BY e.txid, e.id)
                         FROM events e WHERE e.task_id = t.id AND (\(eventVisible))), '[]'))
                   || CASE WHEN $1::bigint IS NULL THEN jsonb_build_object(
                       'result', t.result,
                       'attempts', coalesce((SELECT jsonb_agg(jsonb_build_object(
                           'attempt', a.attempt, 'agentId', a.agent_id, 'openedAt', a.opened_at,
                           'closedAt', a.closed_at, 'outcome', a.outcome, 'runId', a.run_id,
                           'asked', a.run_options, 'usedProvider', a.used_provider, 'usedModel', a.used_model,
                           'usage', a.usage, 'costCents', a.cost_cents) ORDER BY a.attempt)
                         FROM task_attempts a WHERE a.task_id = t.id), '[]')) ELSE '{}' END AS item
              FROM tasks t
             WHERE t.id = $2
               AND ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM projects p WHERE p.id = t.project_id AND p.client_id = $1))
            """, name: "read.task", id: id, viewer: viewer, on: db)
    }

    // MARK: deliverables

    /// Deliverable versions by project and status; a client sees only what was delivered to it.
    public static func deliverables(
        _ page: PageRequest, status: String?, projectID: Int64?, viewer: Viewer, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT id, \(deliverableJSON)::text AS item FROM deliverables d
             WHERE (\(deliverableVisible)) AND d.id > $2
               AND ($4::text IS NULL OR d.status = $4) AND ($5::bigint IS NULL OR d.project_id = $5)
             ORDER BY d.id LIMIT $3
            """, name: "read.deliverables", viewer: viewer, filters: [status, projectID], on: db)
    }

    /// One version with its content.
    public static func deliverable(_ id: Int64, viewer: Viewer, on db: PGConnection) throws -> String? {
        try one(
            """
            SELECT (\(deliverableJSON) || jsonb_build_object('content', d.content))::text AS item
              FROM deliverables d WHERE d.id = $2 AND (\(deliverableVisible))
            """, name: "read.deliverable", id: id, viewer: viewer, on: db)
    }

    /// Whether the viewer may see deliverable `d`: an operator every one, a client those delivered to it.
    static let deliverableVisible = """
        $1::bigint IS NULL
        OR (d.client_visible AND EXISTS (SELECT 1 FROM projects p WHERE p.id = d.project_id AND p.client_id = $1))
        """

    /// A version; the reviewer's notes are the operators' only.
    static let deliverableJSON = """
        jsonb_build_object('id', d.id, 'projectId', d.project_id, 'taskId', d.task_id, 'title', d.title,
            'format', d.format, 'status', d.status, 'version', d.version, 'previousVersionId', d.previous_version_id,
            'clientVisible', d.client_visible, 'createdAt', d.created_at, 'deliveredAt', d.delivered_at,
            'reviewNotes', CASE WHEN $1::bigint IS NULL THEN d.review_notes END,
            'revisionRequestedAt', d.revision_requested_at, 'revisionNotes', d.revision_notes,
            'clientFeedback', d.client_feedback, 'clientRating', d.client_rating)
        """

    // MARK: a project's thread

    /// The messages of a project's thread, oldest first, if the viewer may see the project (nil if not).
    public static func messages(
        _ page: PageRequest, projectID: Int64, viewer: Viewer, on db: PGConnection
    ) throws -> Page? {
        // Whether the viewer may see the project: its id alone (rendering the project would build its tasks,
        // deliverables and SLA records only to throw them away).
        db.prepare(
            "read.project_visible", "SELECT 1 FROM projects WHERE id = $2 AND ($1::bigint IS NULL OR client_id = $1)")
        guard try db.executePrepared("read.project_visible", [viewer.clientID, projectID]).first != nil else {
            return nil
        }
        return try page.page(
            """
            SELECT id, jsonb_build_object(
                       'id', m.id, 'projectId', m.project_id, 'sender', m.sender, 'senderName', m.sender_name,
                       'content', m.content, 'channel', m.channel, 'createdAt', m.created_at)::text AS item
              FROM client_messages m
             WHERE ($1::bigint IS NULL OR m.client_id = $1) AND m.id > $2 AND m.project_id = $4
             ORDER BY m.id LIMIT $3
            """, name: "read.messages", viewer: viewer, filters: [projectID], on: db)
    }

    // MARK: notifications (operators only)

    /// Notifications newest last, by status, kind and task: each one's state, the provider's id once sent,
    /// the last error.
    public static func notifications(
        _ page: PageRequest, status: String?, kind: String?, taskID: Int64?, on db: PGConnection
    ) throws -> Page {
        try page.page(
            """
            SELECT id, jsonb_build_object(
                       'id', n.id, 'key', n.key, 'kind', n.kind, 'channel', n.channel,
                       'recipient', coalesce(n.recipient, 'operators'), 'clientId', n.client_id,
                       'projectId', n.project_id, 'taskId', n.task_id, 'status', n.status,
                       'providerId', n.provider_id, 'attempts', n.attempts, 'lastError', n.last_error,
                       'createdAt', n.created_at, 'sentAt', n.sent_at)::text AS item
              FROM notifications n
             WHERE $1::bigint IS NULL AND n.id > $2 AND ($4::text IS NULL OR n.status = $4)
               AND ($5::text IS NULL OR n.kind = $5) AND ($6::bigint IS NULL OR n.task_id = $6)
             ORDER BY n.id LIMIT $3
            """, name: "read.notifications", viewer: .operator, filters: [status, kind, taskID], on: db)
    }

    // MARK: agents (operators only: the routes refuse client tokens)

    public static func agents(_ page: PageRequest, status: String?, on db: PGConnection) throws -> Page {
        try page.page(
            """
            SELECT id, jsonb_build_object(
                       'id', a.id, 'name', a.name, 'status', a.status, 'specialization', a.specialization,
                       'capabilities', a.capabilities, 'model', a.model, 'maxConcurrentTasks', a.max_concurrent_tasks,
                       'totalTasksCompleted', a.total_tasks_completed, 'totalTasksFailed', a.total_tasks_failed,
                       'lastSeen', a.last_seen, 'soul', a.soul, 'statusReason', a.status_reason,
                       'costPerTaskCents', a.cost_per_task_cents,
                       'statusSetBy', a.status_set_by)::text AS item
              FROM agents a
             WHERE $1::bigint IS NULL AND a.id > $2 AND ($4::text IS NULL OR a.status = $4)
             ORDER BY a.id LIMIT $3
            """, name: "read.agents", viewer: .operator, filters: [status], on: db)
    }

    // MARK: leads

    /// Briefs from the intake form, newest last, by status and address (operators only).
    public static func leads(_ page: PageRequest, status: String?, email: String?, on db: PGConnection) throws -> Page {
        try page.page(
            """
            SELECT id, jsonb_build_object(
                       'id', l.id, 'name', l.name, 'email', l.email, 'company', l.company, 'brief', l.brief,
                       'plan', l.plan_interest, 'source', l.source, 'status', l.status, 'clientId', l.client_id,
                       'createdAt', l.created_at)::text AS item
              FROM leads l
             WHERE $1::bigint IS NULL AND l.id > $2 AND ($4::text IS NULL OR l.status = $4)
               AND ($5::text IS NULL OR lower(l.email) = lower($5))
             ORDER BY l.id LIMIT $3
            """, name: "read.leads", viewer: .operator, filters: [status, email], on: db)
    }

    // MARK: events

    /// An event in the feed, and its position there.
    public struct FeedEvent: Sendable, Equatable {
        public let position: EventPosition
        public let type: String
        /// The event's JSON object as the viewer may see it (without its position: the caller adds the cursor).
        public let json: String
    }

    /// A read of the feed: the events after a position, and whether later events are already written by
    /// transactions still in flight (so the reader should look again soon, whether or not a wake comes).
    public struct FeedRead: Sendable, Equatable {
        public let events: [FeedEvent]
        public let heldBack: Bool
    }

    /// Events after `position`, in feed order (``EventPosition``), at most `limit`, of those the viewer may
    /// see; only those below the oldest transaction still in flight, so the reader's next position never
    /// passes an event that is yet to commit.
    public static func events(
        after position: EventPosition, limit: Int, viewer: Viewer, on db: PGConnection
    ) throws -> FeedRead {
        db.prepare(
            "read.event_feed",
            """
            WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
            page AS (
                SELECT e.id, e.txid::text AS txid, e.type, \(eventJSON)::text AS item FROM events e, horizon h
                 WHERE (e.txid, e.id) > ($2::text::xid8, $3::bigint) AND e.txid < h.xmin AND (\(eventVisible))
                 ORDER BY e.txid, e.id LIMIT $4
            )
            SELECT id, txid, type, item, false AS held FROM page
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, EXISTS (SELECT 1 FROM events e, horizon h WHERE e.txid >= h.xmin) AS held
            """)
        let rows = try db.executePrepared(
            "read.event_feed", [viewer.clientID, String(position.transaction), position.id, limit]
        ).rows
        var events: [FeedEvent] = []
        var held = false
        for row in rows {
            guard let id = try row.decode("id", as: Int64?.self) else {
                held = try row.decode("held")
                continue
            }
            let txid: String = try row.decode("txid")
            events.append(
                FeedEvent(
                    position: EventPosition(transaction: UInt64(txid) ?? 0, id: id), type: try row.decode("type"),
                    json: try row.decode("item")))
        }
        return FeedRead(events: events, heldBack: held)
    }

    /// Where the feed stands now: every event of a transaction older than the oldest still in flight is before
    /// it, every event yet to commit after it. A stream without a cursor starts here.
    public static func feedHorizon(on db: PGConnection) throws -> EventPosition {
        let xmin: String =
            try db.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin").first?.decode("xmin") ?? "0"
        // Just before the horizon: (xmin - 1, the largest id) sorts after every finished transaction's events.
        return EventPosition(transaction: max(UInt64(xmin) ?? 1, 1) - 1, id: Int64.max)
    }

    /// Whether the viewer may see event `e` (SQL, `$1` the viewer's client id): an operator every one; a
    /// client one of the types ``ClientProjection`` lets it see that concerns its client, its projects or
    /// their tasks.
    public static let eventVisible = """
        $1::bigint IS NULL
        OR ('\(clientEventWords)'::jsonb ? e.type
            AND (e.client_id = $1
                 OR EXISTS (SELECT 1 FROM projects p WHERE p.client_id = $1
                             AND (p.id = e.project_id OR p.id = (SELECT t.project_id FROM tasks t WHERE t.id = e.task_id)))))
        """

    /// ``ClientProjection/events`` as a JSON object literal for SQL (type to the words a client reads).
    static let clientEventWords: String = {
        let pairs = ClientProjection.events.sorted { $0.key < $1.key }.map {
            "\(jsonString($0.key)): \(jsonString($0.value))"
        }
        return "{" + pairs.joined(separator: ", ") + "}"
    }()

    /// A JSON string literal that is also safe inside an SQL string literal (quotes doubled).
    static func jsonString(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "'": escaped += "''"
            case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"" + escaped + "\""
    }

    // MARK: dead letters (operators only)

    /// Parked messages, oldest first, of one queue or all.
    public static func deadLetters(_ page: PageRequest, queue: String?, on db: PGConnection) throws -> Page {
        try page.page(
            """
            SELECT id, \(deadLetterJSON)::text AS item FROM dead_letters d
             WHERE $1::bigint IS NULL AND d.id > $2 AND d.status = 'parked' AND ($4::text IS NULL OR d.queue = $4)
             ORDER BY d.id LIMIT $3
            """, name: "read.dead_letters", viewer: .operator, filters: [queue], on: db)
    }

    /// One dead letter, whatever its status, with its headers and body (base64).
    public static func deadLetter(_ id: Int64, on db: PGConnection) throws -> String? {
        db.prepare(
            "read.dead_letter",
            """
            SELECT (\(deadLetterJSON) || jsonb_build_object('headers', d.headers, 'body', translate(encode(d.body, 'base64'), chr(10), ''),
                       'resolvedAt', d.resolved_at))::text AS item
              FROM dead_letters d WHERE d.id = $1
            """)
        return try db.executePrepared("read.dead_letter", [id]).first?.decode("item")
    }

    /// Parked messages per queue name.
    public static func parkedCounts(on db: PGConnection) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.query("SELECT queue, count(*) AS n FROM dead_letters WHERE status = 'parked' GROUP BY queue")
            .rows
        {
            counts[try row.decode("queue")] = try row.decode("n")
        }
        return counts
    }

    static let deadLetterJSON = """
        jsonb_build_object('id', d.id, 'queue', d.queue, 'messageId', d.message_id, 'type', d.message_type,
            'priority', d.priority, 'reason', d.reason, 'attempts', d.attempts, 'status', d.status, 'parkedAt', d.parked_at)
        """

    // MARK: a client's plan

    /// A client's subscriptions, newest first: the plan, its state, the period and its use (deliverables
    /// delivered of those included; none included means unlimited), its revision rounds and response time.
    public static func subscriptions(clientID: Int64, on db: PGConnection) throws -> String {
        db.prepare(
            "read.subscriptions",
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', s.id, 'plan', s.plan, 'planName', coalesce(p.name, s.plan), 'status', s.status,
                       'deliverablesIncluded', s.deliverables_included, 'deliverablesUsed', s.deliverables_used,
                       'periodStart', s.period_start, 'periodEnd', s.period_end, 'revisionRounds', s.revision_rounds,
                       'responseTimeHours', s.response_time_hours, 'priceCents', s.price_amount_cents,
                       'interval', s.billing_interval) ORDER BY s.id DESC), '[]')::text
              FROM subscriptions s LEFT JOIN plans p ON p.id = s.plan
             WHERE s.client_id = $1
            """)
        return try db.executePrepared("read.subscriptions", [clientID]).first!.decode(at: 0)
    }

    // MARK: the command center (operators)

    /// The operators' figures at a glance: tasks by state, versions waiting for review, each agent with what it
    /// runs, SLAs at risk and breached, parked messages, active clients and the MRR of active subscriptions.
    public static func overview(on db: PGConnection) throws -> String {
        db.prepare(
            "read.overview",
            """
            SELECT jsonb_build_object(
                'tasksByStatus', (SELECT coalesce(jsonb_agg(jsonb_build_object('status', status, 'count', n) ORDER BY status), '[]')
                                    FROM (SELECT status, count(*) AS n FROM tasks GROUP BY status) s),
                'deliverablesInReview', (SELECT count(*) FROM deliverables WHERE status = 'review'),
                'agents', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'id', a.id, 'name', a.name, 'status', a.status, 'maxConcurrentTasks', a.max_concurrent_tasks,
                               'openRuns', (SELECT count(*) FROM task_attempts o WHERE o.agent_id = a.id AND o.closed_at IS NULL),
                               'failureRate', a.failure_rate) ORDER BY a.name), '[]') FROM agents a),
                'slasAtRisk', (SELECT count(*) FROM sla_records WHERE status = 'at_risk'),
                'slasBreached', (SELECT count(*) FROM sla_records WHERE status = 'breached' AND completed_at IS NULL),
                'parked', (SELECT count(*) FROM dead_letters WHERE status = 'parked'),
                'activeClients', (SELECT count(*) FROM clients WHERE status = 'active'),
                'mrrCents', (SELECT coalesce(sum(CASE billing_interval WHEN 'year' THEN price_amount_cents / 12
                                                  WHEN 'month' THEN price_amount_cents ELSE 0 END), 0)
                               FROM subscriptions WHERE status IN ('active', 'trialing', 'past_due')))::text
            """)
        return try db.executePrepared("read.overview", []).first!.decode(at: 0)
    }

    // MARK: commands (operators; a client its own)

    /// One command; `issuedBy`: only if that token issued it (a client reads its own commands only).
    public static func command(_ id: String, issuedBy tokenID: Int64? = nil, on db: PGConnection) throws -> String? {
        db.prepare(
            "read.command",
            """
            SELECT jsonb_build_object(
                       'id', c.id, 'kind', c.kind, 'status', c.status, 'payload', c.payload, 'result', c.result,
                       'error', c.error, 'createdAt', c.created_at, 'completedAt', c.completed_at)::text AS item
              FROM commands c WHERE c.id = $1 AND ($2::text IS NULL OR c.issued_by = $2)
            """)
        return try db.executePrepared("read.command", [id, tokenID.map { "token:\($0)" }]).first?.decode("item")
    }

    // MARK: shapes

    static let clientJSON = """
        jsonb_build_object('id', c.id, 'name', c.name, 'email', c.email, 'company', c.company, 'status', c.status,
            'plan', c.plan, 'channel', c.channel, 'timezone', c.timezone, 'createdAt', c.created_at,
            'slackConnected', c.slack_webhook_url IS NOT NULL, 'discordConnected', c.discord_webhook_url IS NOT NULL,
            'slackChannelId', c.slack_channel_id, 'discordChannelId', c.discord_channel_id,
            'clerkUserId', c.clerk_user_id)
        """

    static let projectJSON = """
        jsonb_build_object('id', p.id, 'clientId', p.client_id, 'name', p.name, 'type', p.type, 'brief', p.brief,
            'status', p.status, 'deadline', p.deadline, 'tier', p.tier, 'subscriptionId', p.subscription_id,
            'slaResponseHours', p.sla_response_hours, 'slaDeliveryHours', p.sla_delivery_hours,
            'maxRevisions', p.max_revisions, 'revisionCount', p.revision_count, 'priority', p.priority,
            'tags', p.tags, 'createdAt', p.created_at, 'deliveredAt', p.delivered_at)
        """

    /// A task as the viewer may see it (``ClientProjection/taskFields`` for a client).
    static let taskJSON = projected(
        [
            ("id", "t.id"), ("projectId", "t.project_id"), ("title", "t.title"), ("description", "t.description"),
            ("status", "t.status"), ("priority", "t.priority"), ("taskType", "t.task_type"),
            ("requiredSpecialization", "t.required_specialization"), ("assignedAgentId", "t.assigned_agent_id"),
            ("estimatedDurationMs", "t.estimated_duration_ms"), ("attempt", "t.attempt"), ("error", "t.error"),
            ("createdAt", "t.created_at"), ("startedAt", "t.started_at"), ("completedAt", "t.completed_at"),
            (
                "dependsOn",
                """
                coalesce((SELECT jsonb_agg(d.depends_on_task_id ORDER BY d.depends_on_task_id)
                            FROM task_dependencies d WHERE d.task_id = t.id), '[]')
                """
            ),
        ], client: ClientProjection.taskFields)

    /// An event as the viewer may see it: an operator the whole row; a client the fields
    /// ``ClientProjection/eventFields`` names (the cursor added by the caller), with the client's words for
    /// its type.
    static let eventJSON = """
        CASE WHEN $1::bigint IS NULL THEN
            jsonb_build_object('id', e.id, 'type', e.type, 'message', e.message, 'data', e.data,
                'occurredAt', e.occurred_at, 'clientId', e.client_id, 'projectId', e.project_id, 'taskId', e.task_id,
                'agentId', e.agent_id, 'deliverableId', e.deliverable_id)
        ELSE
            jsonb_build_object('type', e.type, 'message', '\(clientEventWords)'::jsonb ->> e.type,
                'occurredAt', e.occurred_at, 'projectId', e.project_id, 'taskId', e.task_id,
                'deliverableId', e.deliverable_id)
        END
        """

    /// A JSON object of `fields` (name and SQL expression) for an operator, and of those named in `client` for
    /// a client (`$1` the viewer's client id).
    static func projected(_ fields: [(name: String, sql: String)], client: [String]) -> String {
        func object(_ fields: [(name: String, sql: String)]) -> String {
            "jsonb_build_object(" + fields.map { "'\($0.name)', \($0.sql)" }.joined(separator: ", ") + ")"
        }
        return
            "(CASE WHEN $1::bigint IS NULL THEN \(object(fields)) ELSE \(object(fields.filter { client.contains($0.name) })) END)"
    }

    private static func one(
        _ sql: String, name: String, id: Int64, viewer: Viewer, on db: PGConnection
    ) throws
        -> String?
    {
        db.prepare(name, sql)
        return try db.executePrepared(name, [viewer.clientID, id]).first?.decode("item")
    }
}

import BullpenDomain
import BullpenStore
import BullpenWorkers
import Foundation
import PostgreSQL
import Testing

/// SLA records on the real database with an injected clock (the scheduler's tick, the command's time): opened
/// by a project's start, a dispatch and a revision, moved on by the monitor (each move alerting once),
/// fulfilled by a dispatch and a delivery.
@Suite("SLAs", .serialized)
final class SLATests: @unchecked Sendable {
    let stack: StackFixture
    let t0 = Date(timeIntervalSince1970: 1_900_000_000)

    init() throws { stack = try StackFixture("sla") }
    deinit { stack.tearDown() }

    func at(hours: Double) -> Date { t0.addingTimeInterval(hours * 3600) }

    /// A Pro project (24 h response and delivery) created at `t0` through the store, as the command does.
    func project() throws -> Int64 {
        try stack.db.transaction { tx in
            let client: Int64 = try tx.query(
                "INSERT INTO clients (name, email, plan) VALUES ('Acme', $1, 'pro') RETURNING id",
                ["sla-\(UUID().uuidString.prefix(8))@acme.test"]
            ).first!.decode("id")
            return try ProjectStore.create(
                try NewProject.parse(
                    Array(#"{"clientId": \#(client), "name": "Launch <site>", "type": "website", "tier": "pro"}"#.utf8)),
                messageID: "m-project", now: t0, in: tx)
        }
    }

    struct Record: Equatable {
        let type: String
        let status: String
        let deadline: Date
        let actualHours: Double?
    }

    func records(_ project: Int64) throws -> [Record] {
        try stack.db.query(
            "SELECT type, status, deadline_at, actual_hours::float8 AS actual FROM sla_records WHERE project_id = $1 ORDER BY id",
            [project]
        ).rows.map {
            Record(
                type: try $0.decode("type"), status: try $0.decode("status"), deadline: try $0.decode("deadline_at"),
                actualHours: try $0.decode("actual", as: Double?.self))
        }
    }

    func monitor(at hours: Double) throws {
        try stack.db.transaction { tx in try SLAMonitorJob().run(tick: self.at(hours: hours), in: tx) }
    }

    func alerts(_ kind: NotificationKind) throws -> Int {
        try stack.count("SELECT count(*) FROM notifications WHERE kind = $1", [kind.rawValue])
    }

    @Test("a project's first response: on track, at risk under a fifth of its time, breached; each move alerts once")
    func monitorMovesOn() throws {
        let project = try project()
        #expect(
            try records(project) == [
                Record(type: "first_response", status: "on_track", deadline: at(hours: 24), actualHours: nil)
            ])
        try monitor(at: 10)
        #expect(try records(project).map(\.status) == ["on_track"])
        try monitor(at: 20)
        #expect(try records(project).map(\.status) == ["at_risk"])
        try monitor(at: 21)
        #expect(try alerts(.slaAtRisk) == 1, "one alert for the move, not one per tick")
        try monitor(at: 24.01)
        try monitor(at: 30)
        #expect(try records(project).map(\.status) == ["breached"])
        #expect(try alerts(.slaBreached) == 1)
        let alert = try #require(
            try stack.db.query(
                "SELECT data->>'title' AS title, recipient FROM notifications WHERE kind = 'sla-breached'"
            )
            .first)
        #expect(try alert.decode("title", as: String.self) == "Launch <site>")
        #expect(try alert.decode("recipient", as: String?.self) == nil, "the operators")
        #expect(
            try stack.count("SELECT count(*) FROM events WHERE project_id = $1 AND type LIKE 'sla.%'", [project]) == 2)
        #expect(try stack.count("SELECT count(*) FROM outbox") >= 2, "each alert's message is in the outbox")
    }

    @Test(
        "a dispatch meets the first response and starts the work's clock; a late delivery breaches it; a revision's runs from its request and is met in time"
    )
    func fulfilment() throws {
        let project = try project()
        let (task, agent): (Int64, Int64) = try stack.db.transaction { tx in
            let agent: Int64 = try tx.query(
                "INSERT INTO agents (name, status, specialization) VALUES ('writer-sla', 'online', 'writer') RETURNING id"
            ).first!.decode("id")
            let task: Int64 = try tx.query(
                "INSERT INTO tasks (title, project_id, task_type) VALUES ('Draft', $1, 'draft') RETURNING id", [project]
            ).first!.decode("id")
            return (task, agent)
        }
        try stack.db.transaction { tx in
            _ = try TaskDispatching.request(
                TaskDispatch(id: task, agentId: agent), messageID: "m1", now: at(hours: 1), in: tx)
        }
        var all = try records(project)
        #expect(all.map(\.type) == ["first_response", "deliverable_due"])
        #expect(all[0].status == "met" && all[0].actualHours == 1)
        #expect(all[1].status == "on_track" && all[1].deadline == at(hours: 25))
        // Asked again (a dispatch repeated): still one record for the work.
        try stack.db.query("UPDATE tasks SET status = 'pending' WHERE id = $1", [task])
        try stack.db.transaction { tx in
            _ = try TaskDispatching.request(
                TaskDispatch(id: task, agentId: agent), messageID: "m2", now: at(hours: 2), in: tx)
        }
        #expect(try records(project).count == 2)

        // Delivered at 30 h: late.
        let version = try completeAndOpen(task)
        try stack.db.transaction { tx in
            _ = try DeliverableStore.decide(
                id: version, deliver: true, reviewer: "operator", notes: nil, messageID: "m3", now: at(hours: 30),
                in: tx)
        }
        all = try records(project)
        #expect(all[1].status == "breached" && all[1].actualHours == 29)

        // A revision at 31 h: its own clock (24 h), at risk by 51 h, met when delivered at 52 h.
        let reworked = try stack.db.transaction { tx in
            try DeliverableStore.requestRevision(
                DeliverableRevisionRequest(id: version, notes: "More"), messageID: "m4",
                now: at(hours: 31), in: tx)
        }
        all = try records(project)
        #expect(all.count == 3 && all[2].type == "revision_due" && all[2].deadline == at(hours: 55))
        try monitor(at: 51)
        #expect(try records(project)[2].status == "at_risk")
        let revised = try completeAndOpen(reworked.taskID)
        try stack.db.transaction { tx in
            _ = try DeliverableStore.decide(
                id: revised, deliver: true, reviewer: "operator", notes: nil, messageID: "m5", now: at(hours: 52),
                in: tx)
        }
        #expect(try records(project)[2].status == "met")
        try monitor(at: 60)
        #expect(try records(project).map(\.status) == ["met", "breached", "met"], "closed records stay as they are")
        #expect(try alerts(.slaAtRisk) == 1 && alerts(.slaBreached) == 0, "a record fulfilled late alerts nothing")
    }

    /// Completes a task (as a result would) and opens its deliverable version; returns the version's id.
    func completeAndOpen(_ task: Int64) throws -> Int64 {
        try stack.db.query(
            "UPDATE tasks SET status = 'completed', completed_at = now(), result = 'done' WHERE id = $1", [task])
        return try stack.db.transaction { tx in
            try #require(try DeliverableStore.openVersions(completed: [task], messageID: "open-\(task)", in: tx).first)
                .id
        }
    }

    @Test(
        "a task whose SLA goes at risk is raised once to the next band, the reason recorded and explained; a client's escalation takes the project's open work to Critical"
    )
    func escalation() throws {
        let project = try project()
        let (task, agent, other): (Int64, Int64, Int64) = try stack.db.transaction { tx in
            let agent: Int64 = try tx.query(
                "INSERT INTO agents (name, status, specialization) VALUES ('writer-esc', 'online', 'writer') RETURNING id"
            ).first!.decode("id")
            let task: Int64 = try tx.query(
                "INSERT INTO tasks (title, project_id, task_type, priority) VALUES ('Draft', $1, 'draft', 3) RETURNING id",
                [project]
            ).first!.decode("id")
            let other: Int64 = try tx.query(
                "INSERT INTO tasks (title, project_id, task_type, priority) VALUES ('Later', $1, 'draft', 2) RETURNING id",
                [project]
            ).first!.decode("id")
            return (task, agent, other)
        }
        try stack.db.transaction { tx in
            _ = try TaskDispatching.request(
                TaskDispatch(id: task, agentId: agent), messageID: "m1", now: at(hours: 1), in: tx)
        }
        func priorities(_ id: Int64) throws -> (Int, Int?) {
            let row = try #require(
                try stack.db.query("SELECT priority, dispatch_priority FROM tasks WHERE id = $1", [id]).first)
            return (try row.decode("priority"), try row.decode("dispatch_priority", as: Int?.self))
        }
        let before = try priorities(task)
        try monitor(at: 21)  // the work's SLA (due at 25 h) is at risk
        let after = try priorities(task)
        #expect(after.0 == before.0 + 1)
        #expect(after.1 == before.1.map { $0 + 1 }, "its place in its agent's line moves with it")
        let explained = try #require(try TaskExplain.snapshot(task, on: stack.db))
        #expect(
            TaskExplanation.reasons(explained, now: at(hours: 21)).contains {
                $0.hasPrefix("escalated: its SLA") && $0.contains("went at risk: priority \(before.0) to \(after.0)")
            })
        #expect(
            try stack.count("SELECT count(*) FROM events WHERE type = 'task.escalated' AND task_id = $1", [task]) == 1)
        try monitor(at: 26)  // breached now: not raised again
        #expect(try priorities(task).0 == after.0)

        let raised = try stack.db.transaction { tx in
            try TaskEscalation.client(
                ProjectEscalation(id: project, reason: "launch moved up"), messageID: "m9", in: tx)
        }
        #expect(raised == 2)
        #expect(try priorities(task).0 == 5 && priorities(other).0 == 5 && priorities(task).1 == 5)
        let reason: String? = try stack.db.query("SELECT escalation_reason FROM tasks WHERE id = $1", [other]).first?
            .decode("escalation_reason")
        #expect(reason == "the client escalated its project (launch moved up): priority 2 to 5")
    }

    @Test(
        "dispatch against the seed's targets: a task waiting past its band's is alerted once; the wait of each dispatch is measured by band"
    )
    func dispatchTargets() throws {
        let project = try project()
        let (late, onTime): (Int64, Int64) = try stack.db.transaction { tx in
            let agent: Int64 = try tx.query(
                "INSERT INTO agents (name, status, specialization) VALUES ('writer-dt', 'online', 'writer') RETURNING id"
            ).first!.decode("id")
            func waiting(_ title: String, priority: Int, askedHoursAgo: Double) throws -> Int64 {
                try tx.query(
                    """
                    INSERT INTO tasks (title, project_id, task_type, status, assigned_agent_id, priority,
                                       dispatch_priority, dispatch_requested_at)
                    VALUES ($1, $2, 'draft', 'assigned', $3, $4, $4, $5) RETURNING id
                    """, [title, project, agent, priority, self.at(hours: 10 - askedHoursAgo)]
                ).first!.decode("id")
            }
            return (
                try waiting("Late", priority: 4, askedHoursAgo: 2),
                try waiting("On time", priority: 3, askedHoursAgo: 2)
            )
        }
        let found = try DispatchTargetStore.late(now: at(hours: 10), in: stack.db).map(\.task)
        #expect(found == [late], "High's target is an hour; Normal's four")
        try monitor(at: 10)
        try monitor(at: 10.25)
        #expect(try alerts(.dispatchLate) == 1, "once per wait")
        // Dispatched: the attempt keeps when it was asked for, and the report measures the wait by band.
        try stack.db.query(
            """
            INSERT INTO task_attempts (task_id, attempt, run_id, callback_token_hash, agent_id, opened_at,
                                       dispatch_requested_at, dispatch_priority)
            SELECT id, 1, 'bullpen-' || id || '-1', sha256(convert_to('t' || id, 'UTF8')), assigned_agent_id, $2, dispatch_requested_at,
                   dispatch_priority
              FROM tasks WHERE id = ANY($1::bigint[])
            """, [PGArray([String(late), String(onTime)]), at(hours: 10)])
        let report = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try DispatchTargetStore.report(from: at(hours: 0), to: at(hours: 11), on: stack.db).utf8))
                as? [String: Any])
        let bands = try #require(report["bands"] as? [[String: Any]])
        let high = try #require(bands.first { $0["priority"] as? Int == 4 })
        let normal = try #require(bands.first { $0["priority"] as? Int == 3 })
        #expect(high["dispatched"] as? Int == 1 && high["missed"] as? Int == 1 && high["p50Seconds"] as? Double == 7200)
        #expect(normal["dispatched"] as? Int == 1 && normal["missed"] as? Int == 0)
        #expect(bands.first { $0["priority"] as? Int == 1 }?["targetSeconds"] is NSNull)
    }
}

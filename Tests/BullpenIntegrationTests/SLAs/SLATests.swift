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
}

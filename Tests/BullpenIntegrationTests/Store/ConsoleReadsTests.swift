import BullpenStore
import Foundation
import PostgreSQL
import Testing

/// The console's reads: a client's account, and the billing desk's failed payments, past-due subscriptions and
/// renewals within their window.
@Suite("Console reads")
final class ConsoleReadsTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("consolereads") }
    deinit { database.drop() }

    var db: PGConnection { database.db }

    func json(_ text: String?) throws -> [String: Any] {
        let text = try #require(text)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func client(_ name: String) throws -> Int64 {
        try #require(
            try db.query("INSERT INTO clients (name, email) VALUES ($1, $1 || '@x.test') RETURNING id", [name]).first
        ).decode("id")
    }

    /// A Pro project of `client`.
    func project(_ client: Int64, _ name: String) throws -> Int64 {
        try #require(
            try db.query(
                "INSERT INTO projects (client_id, name, type, tier) VALUES ($1, $2, 'website', 'pro') RETURNING id",
                [client, name]
            ).first
        ).decode("id")
    }

    func subscription(_ client: Int64, status: String, endsIn days: Double) throws -> Int64 {
        try #require(
            try db.query(
                """
                INSERT INTO subscriptions (client_id, plan, status, price_amount_cents, billing_interval, period_start,
                                           period_end, response_time_hours)
                VALUES ($1, 'pro', $2, 450000, 'month', now() - interval '20 days', now() + make_interval(secs => $3), 24)
                RETURNING id
                """, [client, status, days * 86400]
            ).first
        ).decode("id")
    }

    @Test("the billing desk: owed payments that failed, subscriptions past due, renewals in the next 14 days only")
    func desk() throws {
        let (acme, beta, gamma) = (try client("acme"), try client("beta"), try client("gamma"))
        let owed = try subscription(acme, status: "past_due", endsIn: 3)
        let soon = try subscription(beta, status: "active", endsIn: 5)
        _ = try subscription(gamma, status: "active", endsIn: 40)
        _ = try subscription(gamma, status: "canceled", endsIn: 2)
        try db.query(
            """
            INSERT INTO invoices (client_id, subscription_id, stripe_invoice_id, status, amount_cents, amount_due_cents,
                                  currency, attempt_count, paid_at)
            VALUES ($1, $2, 'in_failed', 'open', 450000, 450000, 'usd', 2, NULL),
                   ($1, $2, 'in_fresh', 'open', 450000, 450000, 'usd', 0, NULL),
                   ($3, $4, 'in_paid', 'paid', 450000, 0, 'usd', 1, now())
            """, [acme, owed, beta, soon])
        let desk = try json(try ReadModel.billingDesk(now: Date(), on: db))
        let failed = try #require(desk["failedPayments"] as? [[String: Any]])
        #expect(
            failed.count == 1 && failed.first?["client"] as? String == "acme" && failed.first?["attempts"] as? Int == 2)
        #expect((desk["pastDue"] as? [[String: Any]])?.map { $0["client"] as? String } == ["acme"])
        #expect((desk["renewals"] as? [[String: Any]])?.map { $0["client"] as? String } == ["beta"])
    }

    @Test(
        "a client's account: its plans, SLA compliance of closed records, projects, invoices and history; none for no client"
    )
    func account() throws {
        let acme = try client("acme")
        _ = try subscription(acme, status: "active", endsIn: 10)
        let project = try project(acme, "Launch")
        for status in ["met", "met", "met", "breached", "at_risk"] {
            try db.query(
                """
                INSERT INTO sla_records (project_id, client_id, type, status, started_at, deadline_at, target_hours)
                VALUES ($1, $2, 'deliverable_due', $3, now(), now(), 24)
                """, [project, acme, status])
        }
        try db.query(
            "INSERT INTO events (type, message, client_id) VALUES ('client.updated', 'Client updated', $1)", [acme])
        let account = try json(try ReadModel.clientAccount(acme, on: db))
        let sla = try #require(account["sla"] as? [String: Any])
        #expect(sla["met"] as? Int == 3 && sla["breached"] as? Int == 1 && sla["atRisk"] as? Int == 1)
        #expect(sla["compliance"] as? Double == 0.75)
        #expect((account["projects"] as? [[String: Any]])?.count == 1)
        #expect((account["subscriptions"] as? [[String: Any]])?.first?["status"] as? String == "active")
        #expect((account["history"] as? [[String: Any]])?.first?["message"] as? String == "Client updated")
        #expect(try ReadModel.clientAccount(424_242, on: db) == nil)
    }

    @Test(
        "the agents page's details: an agent's time over 7 days, its week's cost, the Scale clients' configurations of it"
    )
    func agentDetails() throws {
        let acme = try client("acme")
        let agent: Int64 = try #require(
            try db.query(
                "INSERT INTO agents (name, status, avg_completion_time_ms) VALUES ('writer', 'online', 90000) RETURNING id"
            ).first
        ).decode("id")
        let project = try project(acme, "P")
        for (hoursAgo, ms) in [(2.0, 1_800_000), (24.0 * 10, 3_600_000)] {
            try db.query(
                """
                INSERT INTO time_entries (project_id, agent_id, type, duration_ms, started_at, ended_at)
                VALUES ($1, $2, 'agent_execution', $3, now() - make_interval(secs => $4), now())
                """, [project, agent, ms, hoursAgo * 3600])
        }
        try db.query(
            "INSERT INTO weekly_agent_rollups (week_start, agent_id, completed, failed, cost_cents) VALUES (current_date, $1, 3, 0, 1250)",
            [agent])
        try db.query(
            """
            INSERT INTO agent_configs (client_id, agent_id, name, system_prompt, model, knowledge_base)
            VALUES ($1, $2, 'Acme voice', 'Write as Acme.', 'claude-x', '{a.md,b.md}')
            """, [acme, agent])
        let details = try json(try ReadModel.agentDetails(now: Date(), on: db))
        let mine = try #require(details[String(agent)] as? [String: Any])
        #expect(mine["timeMsWeek"] as? Int == 1_800_000, "only the last 7 days")
        #expect(mine["weekCostCents"] as? Int == 1250)
        let configs = try #require(mine["configs"] as? [[String: Any]])
        #expect(
            configs.count == 1 && configs.first?["client"] as? String == "acme" && configs.first?["files"] as? Int == 2)
    }
}

extension ConsoleReadsTests {
    @Test(
        "time, cost and margin by client: a run costs its reported usage, or its agent's rate when it completed without one; revenue is a week of the plan"
    )
    func costAndMargin() throws {
        let acme = try client("acme")
        _ = try subscription(acme, status: "active", endsIn: 10)
        _ = try subscription(acme, status: "canceled", endsIn: 2)
        let project = try project(acme, "P")
        let agent: Int64 = try #require(
            try db.query(
                "INSERT INTO agents (name, status, cost_per_task_cents) VALUES ('w', 'online', 250) RETURNING id"
            ).first
        ).decode("id")
        // Four runs closed this week: completed without a report (the rate, 250), failed with one (12.5),
        // completed with one (40), failed without one (nothing); and one last month (not counted).
        for (outcome, cost, daysAgo) in [
            ("completed", nil, 1.0), ("failed", 12.5, 2), ("completed", 40, 3), ("failed", nil, 4),
            ("completed", 99, 40),
        ] as [(String, Double?, Double)] {
            let task: Int64 = try #require(
                try db.query(
                    "INSERT INTO tasks (project_id, title, status, assigned_agent_id) VALUES ($1, 'T', 'pending', $2) RETURNING id",
                    [project, agent]
                ).first
            ).decode("id")
            try db.query(
                """
                INSERT INTO task_attempts (task_id, attempt, run_id, callback_token_hash, agent_id, opened_at, closed_at,
                                           outcome, cost_cents)
                VALUES ($1, 1, $2, sha256(convert_to($2, 'UTF8')), $3, now() - make_interval(days => $4::int) - interval '1 hour',
                        now() - make_interval(days => $4::int), $5, $6)
                """, [task, "bullpen-\(task)-1", agent, Int(daysAgo), outcome, cost])
        }
        let clients = try #require(
            try json(try ReadModel.timeByClient(now: Date(), on: db))["clients"] as? [[String: Any]])
        let row = try #require(clients.first { $0["client"] as? String == "acme" })
        let number = { (key: String) in (row[key] as? NSNumber)?.doubleValue }
        #expect(number("agentCostCents") == 302.5)
        // The active monthly plan (4,500 dollars) for a week: 450000 × 12 / 52; the canceled one adds nothing.
        let revenue = (450_000.0 * 12 / 52 * 100).rounded() / 100
        #expect(number("revenueCents") == revenue)
        #expect(number("marginCents") == ((revenue - 302.5) * 100).rounded() / 100)
    }
}

extension ConsoleReadsTests {
    @Test(
        "a project's page: counts over all its work, the latest tasks and versions oldest first, every running task listed or not; all of them with no limit; a client its visible versions only"
    )
    func projectPage() throws {
        let acme = try client("acme")
        let project = try project(acme, "Long")
        let agent: Int64 = try #require(
            try db.query("INSERT INTO agents (name, status) VALUES ('w', 'online') RETURNING id").first
        ).decode("id")
        // 35 tasks: the second is running (outside the latest 30), the last assigned, 21 completed.
        let tasks = try (1...35).map { index -> Int64 in
            let status = index == 2 ? "running" : index == 35 ? "assigned" : index <= 22 ? "completed" : "pending"
            return try #require(
                try db.query(
                    """
                    INSERT INTO tasks (project_id, title, status, assigned_agent_id, completed_at)
                    VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'completed' THEN now() END) RETURNING id
                    """, [project, "T\(index)", status, agent]
                ).first
            ).decode("id")
        }
        // 33 versions, every third visible to the client (11).
        let versions = try (1...33).map { index -> Int64 in
            try #require(
                try db.query(
                    """
                    INSERT INTO deliverables (project_id, task_id, title, content, format, status, client_visible)
                    VALUES ($1, $2, $3, 'x', 'markdown', 'review', $4) RETURNING id
                    """, [project, tasks[index - 1], "V\(index)", index % 3 == 0]
                ).first
            ).decode("id")
        }
        let ids = { (page: [String: Any], key: String) in
            (page[key] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
        }
        let count = { (page: [String: Any], key: String) in (page[key] as? NSNumber)?.intValue }

        let latest = try json(try ReadModel.projectPage(project, latest: 30, viewer: .operator, on: db))
        #expect(count(latest, "taskCount") == 35 && count(latest, "tasksDone") == 21)
        #expect(ids(latest, "tasks") == Array(tasks.suffix(30)))
        #expect(ids(latest, "running") == [tasks[1], tasks[34]])
        #expect(count(latest, "deliverableCount") == 33 && ids(latest, "deliverables") == Array(versions.suffix(30)))

        let all = try json(try ReadModel.projectPage(project, latest: nil, viewer: .operator, on: db))
        #expect(ids(all, "tasks") == tasks && ids(all, "deliverables") == versions)

        let visible = versions.enumerated().filter { ($0.offset + 1) % 3 == 0 }.map(\.element)
        let seen = try json(try ReadModel.projectPage(project, latest: 5, viewer: .client(acme), on: db))
        #expect(count(seen, "deliverableCount") == 11 && ids(seen, "deliverables") == Array(visible.suffix(5)))
        let stranger = try client("beta")
        #expect(try ReadModel.projectPage(project, latest: 5, viewer: .client(stranger), on: db) == nil)
    }
}

import BullpenDomain
import BullpenStore
import BullpenWorkers
import Foundation
import PostgreSQL
import Testing

/// The weekly digest on the real database, the week given by the job's tick: Pro and Scale clients with
/// something to report, each once a week, with the week's counts.
@Suite("Weekly digest", .serialized)
final class WeeklyDigestTests: @unchecked Sendable {
    let stack: StackFixture

    init() throws { stack = try StackFixture("digest") }
    deinit { stack.tearDown() }

    func client(_ name: String, plan: String) throws -> Int64 {
        try #require(
            try stack.db.query(
                "INSERT INTO clients (name, email, plan) VALUES ($1, $2, $3) RETURNING id",
                [name, "\(name.lowercased())@digest.test", plan]
            ).first?.decode("id"))
    }

    @Test("Pro and Scale clients with work this week get one digest with its counts; Sprint and idle ones none")
    func digest() throws {
        let tick = Date()
        let pro = try client("Acme", plan: "pro")
        let sprint = try client("Brief", plan: "sprint")
        let idle = try client("Quiet", plan: "scale")
        for owner in [pro, sprint] {
            try stack.db.query(
                """
                WITH p AS (INSERT INTO projects (client_id, name, type, status, tier) VALUES ($1, 'Site', 'web', 'active', 'pro')
                           RETURNING id),
                     t AS (INSERT INTO tasks (title, status, project_id, result, completed_at)
                           SELECT 'Copy', 'completed', id, 'done', now() - interval '2 days' FROM p RETURNING id, project_id)
                INSERT INTO deliverables (project_id, task_id, title, content, format, status, delivered_at, client_visible)
                SELECT project_id, id, 'Copy', 'done', 'markdown', 'delivered', now() - interval '1 day', true FROM t
                """, [owner])
        }
        // Delivered a month ago: not this week's.
        try stack.db.query(
            """
            INSERT INTO deliverables (project_id, title, content, format, status, delivered_at, client_visible)
            SELECT id, 'Old', 'x', 'markdown', 'delivered', now() - interval '30 days', true FROM projects WHERE client_id = $1
            """, [pro])
        for _ in 1...2 {
            try stack.db.transaction { tx in try WeeklyDigestJob().run(tick: tick, in: tx) }
        }
        let rows = try stack.db.query(
            "SELECT client_id, recipient, data FROM notifications WHERE kind = 'weekly-digest' ORDER BY id")
        #expect(rows.count == 1, "one digest, for the Pro client, however many runs in the week")
        let row = try #require(rows.first)
        #expect(try row.decode("client_id", as: Int64?.self) == pro)
        #expect(try row.decode("recipient", as: String?.self) == "acme@digest.test")
        let data =
            try JSONSerialization.jsonObject(with: Data(try row.decode("data", as: String.self).utf8))
            as? [String: String] ?? [:]
        #expect(data["delivered"] == "1" && data["tasksCompleted"] == "1" && data["openProjects"] == "1")
        #expect(data["title"] == "Acme")
        #expect(try stack.count("SELECT count(*) FROM outbox WHERE message_type = 'notification.send'") == 1)
        #expect(
            try stack.count(
                "SELECT count(*) FROM notifications WHERE client_id = $1 OR client_id = $2", [sprint, idle])
                == 0, "Sprint has no digest; a client with nothing this week and nothing open gets none")
    }
}

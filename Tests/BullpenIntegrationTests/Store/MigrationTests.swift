import BullpenStore
import PostgreSQL
import Testing

@Suite("Migrations and schema constraints")
final class MigrationTests {
    let database: TestDatabase

    init() throws { database = try TestDatabase("mig") }
    deinit { database.drop() }

    var db: PGConnection { database.db }

    @Test("migrating again changes nothing")
    func idempotent() throws {
        let report = try Migrator().run(on: db)
        #expect(report.applied.isEmpty)
        #expect(report.currentVersion == Migration.all.map(\.version).max())
    }

    @Test("every table of the plan and every system table exists")
    func tables() throws {
        let expected = [
            "clients", "projects", "agents", "tasks", "deliverables", "events", "messages", "subscriptions",
            "client_messages", "sla_records", "time_entries", "agent_configs", "invoices", "schema_migrations", "inbox",
            "outbox", "dead_letters", "commands", "api_tokens", "leads", "cron_runs", "task_attempts",
            "task_dependencies",
        ]
        let found = try db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [database.schema]
        ).rows.map { try $0.decode("table_name", as: String.self) }
        #expect(Set(expected).subtracting(found).isEmpty, "missing: \(Set(expected).subtracting(found))")
    }

    @Test("a database newer than the binary is refused with a clear message")
    func newerSchema() throws {
        try db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')")
        do {
            try Migrator().run(on: db)
            Issue.record("migrated a newer schema")
        } catch let error as MigrationError {
            #expect(error.description.contains("version 999"))
            #expect(error.description.contains("newer than this bullpen binary"))
        }
    }

    @Test("an applied migration that changed is refused")
    func changedMigration() throws {
        let changed = Migration(version: 1, name: "core schema", sql: "SELECT 1")
        #expect(throws: MigrationError.self) { try Migrator(migrations: [changed]).run(on: db) }
    }

    func sqlState(_ sql: String, _ parameters: [(any PGEncodable)?] = []) -> String? {
        do {
            try db.query(sql, parameters)
            return nil
        } catch let error as PGError {
            return error.sqlState
        } catch {
            return "other"
        }
    }

    @Test("constraints: unique email, status CHECKs, foreign keys, unique session key")
    func constraints() throws {
        try db.query("INSERT INTO clients (name, email) VALUES ('A', 'a@example.com')")
        #expect(sqlState("INSERT INTO clients (name, email) VALUES ('B', 'A@Example.com')") == "23505")
        #expect(sqlState("INSERT INTO clients (name, email, status) VALUES ('C', 'c@example.com', 'gone')") == "23514")
        #expect(sqlState("INSERT INTO projects (client_id, name, type) VALUES (424242, 'P', 'web')") == "23503")
        #expect(sqlState("INSERT INTO tasks (title, status) VALUES ('T', 'exploded')") == "23514")
        // A running task needs an agent.
        #expect(sqlState("INSERT INTO tasks (title, status) VALUES ('T', 'running')") == "23514")
        #expect(sqlState("INSERT INTO tasks (title, priority) VALUES ('T', 9)") == "23514")
        try db.query("INSERT INTO agents (name, session_key) VALUES ('w1', 'agent:w1')")
        #expect(sqlState("INSERT INTO agents (name, session_key) VALUES ('w2', 'agent:w1')") == "23505")
        #expect(sqlState("INSERT INTO agents (name, specialization) VALUES ('w3', 'juggler')") == "23514")
        #expect(
            sqlState(
                "INSERT INTO subscriptions (client_id, plan, status, price_amount_cents, period_start, response_time_hours) "
                    + "SELECT id, 'gold', 'active', 1, now(), 24 FROM clients") == "23514")
        #expect(
            sqlState(
                "INSERT INTO deliverables (project_id, title, content, format, version) "
                    + "SELECT 1, 't', 'c', 'markdown', 2") != nil)
        #expect(sqlState("INSERT INTO events (type, message) VALUES ('Not A Type', 'm')") == "23514")
        #expect(sqlState("INSERT INTO inbox (message_id, queue) VALUES ('m1', 'review')") == nil)
        #expect(sqlState("INSERT INTO inbox (message_id, queue) VALUES ('m1', 'review')") == "23505")
    }
}

import BullpenStore
import Foundation
import Testing

/// The `bullpen` operator commands, as a process (the debug build), against a live ingest.
@Suite("Operator CLI")
final class CLITests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("cli") }
    deinit { fixture.tearDown() }

    struct Run {
        let status: Int32
        let output: String
        let errors: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// A config file with nothing in it, so that none of the machine's is read.
    static let emptyConfig: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bullpen-empty-config.json").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("{}".utf8))
        return path
    }()

    /// Runs `bullpen ARGS` with BULLPEN_URL and BULLPEN_TOKEN set, on a thread of its own.
    /// `url`: BULLPEN_URL instead of this ingest's.
    static func bullpen(
        _ arguments: [String], port: Int, token: String?, url: String? = nil, environment extra: [String: String] = [:]
    ) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: WorkerProcess.binary)
                    process.arguments = arguments
                    var environment = ProcessInfo.processInfo.environment
                    environment["BULLPEN_URL"] = url ?? "http://127.0.0.1:\(port)"
                    environment["BULLPEN_TOKEN"] = token
                    environment["BULLPEN_CONFIG"] = Self.emptyConfig
                    environment.merge(extra) { $1 }
                    process.environment = environment
                    let (out, err) = (Pipe(), Pipe())
                    process.standardOutput = out
                    process.standardError = err
                    try process.run()
                    let output = out.fileHandleForReading.readDataToEndOfFile()
                    let errors = err.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(
                        returning: Run(
                            status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                            errors: String(decoding: errors, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    @Test("a list of ingests: one that cannot be reached is passed over, the command taken once by the next")
    func ingestList() async throws {
        let token = fixture.operatorToken
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let list = "http://127.0.0.1:1,http://127.0.0.1:\(port)"
            let created = try await Self.bullpen(
                ["client", "create", "--name", "Listed", "--email", "listed@acme.test", "--wait", "--json"], port: port,
                token: token, url: list)
            #expect(created.status == 0, "\(created.errors)")
            #expect(created.json["status"] as? String == "applied")
            #expect(try self.fixture.stack.count("SELECT count(*) FROM clients WHERE email = 'listed@acme.test'") == 1)
            let down = try await Self.bullpen(
                ["client", "list"], port: port, token: token, url: "http://127.0.0.1:1,http://127.0.0.1:2")
            #expect(down.status == 5 && down.errors.contains("127.0.0.1:1") && down.errors.contains("127.0.0.1:2"))
        }
    }

    @Test("agent apply: a roster's agents registered, then only what changed updated; --dry-run does nothing")
    func roster() async throws {
        let token = fixture.operatorToken
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            func bullpen(_ arguments: String...) async throws -> Run {
                try await Self.bullpen(arguments, port: port, token: token)
            }
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("roster-\(UUID()).json")
            defer { try? FileManager.default.removeItem(at: file) }
            func roster(_ writerSlots: Int) throws {
                try """
                {"agents": [
                  {"name": "roster-writer", "specialization": "writer", "capabilities": ["web_search"], "maxConcurrentTasks": \(writerSlots)},
                  {"name": "roster-coder", "specialization": "coder", "capabilities": ["code_execution"]}
                ]}
                """.write(to: file, atomically: true, encoding: .utf8)
            }
            func count(_ sql: String) throws -> Int { try self.fixture.stack.count(sql) }
            try roster(2)
            let first = try await bullpen("agent", "apply", "--file", file.path, "--wait")
            #expect(first.status == 0, "\(first.errors)")
            #expect(first.output.components(separatedBy: ": register").count == 3, "\(first.output)")
            #expect(try count("SELECT count(*) FROM agents WHERE name LIKE 'roster-%'") == 2)

            try roster(5)
            let dry = try await bullpen("agent", "apply", "--file", file.path, "--dry-run")
            #expect(dry.output.contains("update maxConcurrentTasks") && dry.output.contains("roster-coder: unchanged"))
            #expect(try count("SELECT max_concurrent_tasks FROM agents WHERE name = 'roster-writer'") == 2)
            let second = try await bullpen("agent", "apply", "--file", file.path, "--wait")
            #expect(second.status == 0, "\(second.errors)")
            #expect(try count("SELECT max_concurrent_tasks FROM agents WHERE name = 'roster-writer'") == 5)
            #expect(try count("SELECT count(*) FROM agents WHERE name LIKE 'roster-%'") == 2)
            // Applied again, a roster with a soul converges: nothing to update the second time.
            try """
            {"agents": [{"name": "roster-writer", "soul": "Be brief.", "maxConcurrentTasks": 5}]}
            """.write(to: file, atomically: true, encoding: .utf8)
            _ = try await bullpen("agent", "apply", "--file", file.path, "--wait")
            let again = try await bullpen("agent", "apply", "--file", file.path, "--wait")
            #expect(
                again.output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(
                    "unchanged (agent \(try count("SELECT id FROM agents WHERE name = 'roster-writer'")))"),
                "\(again.output)")

            // An operator pauses an agent with a reason, and the list shows it; no reason for a pause is refused.
            let writer = String(try count("SELECT id FROM agents WHERE name = 'roster-writer'"))
            let paused = try await bullpen(
                "agent", "set-status", writer, "--status", "paused", "--reason", "model upgrade", "--wait")
            #expect(paused.status == 0, "\(paused.errors)")
            let listed = try await bullpen("agent", "list", "--status", "paused")
            #expect(
                listed.output.contains("roster-writer") && listed.output.contains("model upgrade"), "\(listed.output)")
            let noReason = try await bullpen("agent", "set-status", writer, "--status", "offline")
            #expect(noReason.status == 6 && noReason.errors.contains("reason"), "\(noReason.errors)")

            try #"{"agents": [{"name": "x", "maxConcurrentTasks": 0}]}"#.write(
                to: file, atomically: true, encoding: .utf8)
            let bad = try await bullpen("agent", "apply", "--file", file.path)
            #expect(bad.status == 2 && bad.errors.contains("agents[0].maxConcurrentTasks"), "\(bad.errors)")
        }
    }

    @Test(
        "a new operator's first hour: paging events by the printed cursor, --json everywhere (errors too), a config file that is wrong says so, the reason for a file that cannot be read, the client's own plan, the nearest noun, --version, the database unreachable is exit 5, task wait, a plan split twice is split once"
    )
    func firstHour() async throws {
        let token = fixture.operatorToken
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            func bullpen(_ arguments: String..., environment: [String: String] = [:]) async throws -> Run {
                try await Self.bullpen(arguments, port: port, token: token, environment: environment)
            }
            let client = try await api.create(
                "/v1/clients", #"{"name": "Hour", "email": "hour@acme.test"}"#, "clientId")
            for name in ["A", "B", "C"] {
                _ = try await api.create(
                    "/v1/projects", #"{"clientId": \#(client), "name": "\#(name)", "type": "content", "tier": "pro"}"#,
                    "projectId")
            }
            // events list: the line it prints for more is a command that works.
            let page = try await bullpen("events", "list", "--limit", "2")
            #expect(page.status == 0, "\(page.errors)")
            let more = try #require(page.output.split(separator: "\n").last { $0.hasPrefix("(more: --cursor ") })
            let cursor = String(more.dropFirst("(more: --cursor ".count).dropLast())
            let next = try await bullpen("events", "list", "--cursor", cursor, "--limit", "2")
            #expect(next.status == 0 && next.output.contains("project.created"), "\(next.output) \(next.errors)")

            // --json: token list answers JSON; an error under --json is the API's error object, same exit code.
            let database =
                (ProcessInfo.processInfo.environment["BULLPEN_DATABASE_URL"]
                    ?? "postgresql://bullpen:bullpen@127.0.0.1:5432/bullpen")
                + "?search_path=\(self.fixture.stack.database.schema)"
            let tokens = try await bullpen("token", "list", "--json", "--database-url", database)
            #expect(tokens.status == 0, "\(tokens.errors)")
            #expect(
                (tokens.json["data"] as? [[String: Any]])?.contains { $0["name"] as? String == "test operator" } == true
            )
            let missing = try await bullpen("task", "show", "987654", "--json")
            #expect(missing.status == 6)
            let error = (try? JSONSerialization.jsonObject(with: Data(missing.errors.utf8))) as? [String: Any]
            #expect((error?["error"] as? [String: Any])?["code"] as? String == "not_found", "\(missing.errors)")

            // A config file that is wrong says which and why.
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("bullpen-config-\(UUID()).json")
            defer { try? FileManager.default.removeItem(at: config) }
            try "{url: nope".write(to: config, atomically: true, encoding: .utf8)
            let malformed = try await Self.bullpen(
                ["client", "list"], port: port, token: nil, environment: ["BULLPEN_CONFIG": config.path])
            #expect(malformed.status == 2 && malformed.errors.contains(config.path), "\(malformed.errors)")
            #expect(malformed.errors.contains("not a JSON object"))
            let absent = try await Self.bullpen(
                ["client", "list"], port: port, token: nil, environment: ["BULLPEN_CONFIG": config.path + ".gone"])
            #expect(absent.status == 2 && absent.errors.contains("does not exist"), "\(absent.errors)")

            // project create: the reason a brief cannot be read; the client's own plan without --tier.
            let nosuch = try await bullpen(
                "project", "create", "--client", String(client), "--type", "web", "--from", "nosuch.md")
            #expect(
                nosuch.status == 2 && nosuch.errors.contains("cannot read nosuch.md: no such file"), "\(nosuch.errors)")
            #expect(!nosuch.errors.contains("USAGE"))
            let noPlan = try await bullpen(
                "project", "create", "--client", String(client), "--type", "web", "--name", "N", "--wait")
            #expect(noPlan.status == 1 && noPlan.errors.contains("rejected"), "\(noPlan.output) \(noPlan.errors)")
            _ = try self.fixture.stack.db.query(
                """
                INSERT INTO subscriptions (client_id, plan, status, price_amount_cents, period_start, response_time_hours)
                VALUES ($1, 'scale', 'active', 100, now(), 8)
                """, [client])
            let planned = try await bullpen(
                "project", "create", "--client", String(client), "--type", "web", "--name", "Planned", "--wait",
                "--json")
            #expect(planned.status == 0, "\(planned.errors)")
            #expect(
                try self.fixture.stack.db.query("SELECT tier FROM projects WHERE name = 'Planned'").first?.decode(
                    "tier", as: String.self) == "scale")

            // The nearest noun; --version.
            let typo = try await bullpen("tasks", "list")
            #expect(typo.status == 2 && typo.errors.contains("did you mean 'bullpen task list'"), "\(typo.errors)")
            let version = try await bullpen("--version")
            #expect(version.status == 0 && version.output.contains("1.0.0"))

            // token create with the database away: exit 5, as any unreachable service.
            let away = try await bullpen(
                "token", "create", "--role", "operator", "--name", "x", "--database-url",
                "postgresql://bullpen:bullpen@127.0.0.1:1/bullpen")
            #expect(away.status == 5, "\(away.status) \(away.errors)")

            // task wait: the task's outcome, not the command's.
            let project: Int64 = try #require(
                try self.fixture.stack.db.query("SELECT id FROM projects WHERE name = 'A'").first?.decode("id"))
            var ids: [String: Int64] = [:]
            for status in ["completed", "failed", "pending"] {
                ids[status] = try #require(
                    try self.fixture.stack.db.query(
                        """
                        INSERT INTO tasks (title, status, project_id, completed_at, error)
                        VALUES ($1, $1, $2, CASE WHEN $1 <> 'pending' THEN now() END,
                                CASE WHEN $1 = 'failed' THEN 'it broke' END) RETURNING id
                        """, [status, project]
                    ).first?.decode("id"))
            }
            #expect(try await bullpen("task", "wait", String(ids["completed"]!)).status == 0)
            #expect(try await bullpen("task", "wait", String(ids["failed"]!)).status == 1)
            #expect(try await bullpen("task", "wait", String(ids["pending"]!), "--timeout", "1").status == 3)

            // A plan split twice is split once; a changed plan says what it would add.
            let plan = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID()).yaml")
            defer { try? FileManager.default.removeItem(at: plan) }
            try "tasks:\n  - {key: r, title: Research}\n  - {key: d, title: Draft, dependsOn: [r]}\n".write(
                to: plan, atomically: true, encoding: .utf8)
            func split() async throws -> Run {
                try await bullpen("task", "split", "--project", String(project), "--file", plan.path, "--wait")
            }
            let once = try await split()
            #expect(once.status == 0, "\(once.errors)")
            let twice = try await split()
            #expect(twice.status == 0 && twice.output.contains("nothing to add"), "\(twice.output) \(twice.errors)")
            try "tasks:\n  - {key: r, title: Research}\n  - {key: p, title: Publish}\n".write(
                to: plan, atomically: true, encoding: .utf8)
            let changed = try await split()
            #expect(changed.status == 6 && changed.errors.contains("it would add 1: Publish"), "\(changed.errors)")
            #expect(
                try self.fixture.stack.count(
                    "SELECT count(*) FROM tasks WHERE project_id = $1 AND title IN ('Research', 'Draft', 'Publish')",
                    [project]) == 2)
        }
    }

    @Test("nouns and verbs with --wait and --json; the exit codes scripts branch on")
    func planning() async throws {
        let token = fixture.operatorToken
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            func bullpen(_ arguments: String..., token: String? = token) async throws -> Run {
                try await Self.bullpen(arguments, port: port, token: token)
            }
            let created = try await bullpen(
                "client", "create", "--name", "Acme", "--email", "ops@acme.test", "--plan", "pro", "--wait", "--json")
            #expect(created.status == 0, "\(created.errors)")
            #expect(created.json["status"] as? String == "applied")
            let client = try #require((created.json["result"] as? [String: Any])?["clientId"] as? Int)

            let brief = FileManager.default.temporaryDirectory.appendingPathComponent("brief-\(UUID()).md")
            try "# Spring launch\n\nOne landing page.\n".write(to: brief, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: brief) }
            let project = try await bullpen(
                "project", "create", "--client", "\(client)", "--type", "website", "--tier", "sprint", "--from",
                brief.path, "--wait")
            #expect(project.status == 0, "\(project.errors)")
            #expect(project.output.hasPrefix("applied: projectId "))
            let shown = try await bullpen("project", "list", "--client", "\(client)")
            #expect(shown.status == 0)
            #expect(shown.output.contains("Spring launch"))
            #expect(shown.output.hasPrefix("ID"))

            // A plan in YAML: four tasks, created in dependency order, their dependencies resolved.
            let projectID = try #require(
                Int(project.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").last ?? ""))
            let split = try await bullpen(
                "task", "split", "--project", "\(projectID)", "--file",
                TestEnvironment.repositoryRoot + "/docs/examples/plan.yaml", "--wait", "--json")
            #expect(split.status == 0, "\(split.errors)")
            let ids = try #require((split.json["result"] as? [String: Any])?["taskIds"] as? [String: Int])
            #expect(Set(ids.keys) == ["research", "copy", "page", "review"])
            let review = try await api.get("/v1/tasks/\(ids["review"]!)")
            #expect(review.json["dependsOn"] as? [Int] == [ids["copy"]!, ids["page"]!].sorted())
            #expect(review.json["priority"] as? Int == 4)  // a review on the Sprint plan: at least 4

            // Without --wait: accepted, exit 0, and `command show --wait` follows it.
            let accepted = try await bullpen("agent", "register", "--name", "writer-1", "--json")
            #expect(accepted.status == 0)
            let id = try #require(accepted.json["commandId"] as? String)
            let followed = try await bullpen("command", "show", id, "--wait")
            #expect(followed.status == 0)
            #expect(followed.output.contains("applied"))

            // Rejected: exit 1 with the reason.
            let duplicate = try await bullpen("agent", "register", "--name", "writer-1", "--wait")
            #expect(duplicate.status == 1)
            #expect(duplicate.errors.contains("an agent named writer-1 exists already"))
            // Refused by the API: exit 6, with the code and field.
            let refused = try await bullpen("task", "create", "--project", "999999", "--title", "T")
            #expect(refused.status == 6)
            #expect(refused.errors.contains("unknown_reference (projectId)"))
            // The event stream, from the start: the first two events, as JSON lines.
            let tail = try await bullpen("events", "tail", "--after", "0", "--count", "2", "--json")
            #expect(tail.status == 0, "\(tail.errors)")
            let lines = tail.output.split(separator: "\n").map {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
            #expect(lines.map { $0?["type"] as? String } == ["client.created", "project.created"])

            // Status: every queue, with the test's command consumer on the command queue.
            let status = try await bullpen("status", "--json")
            #expect(status.status == 0, "\(status.errors)")
            let queues = status.json["data"] as? [[String: Any]] ?? []
            #expect(queues.map { $0["name"] as? String } == ["command", "dispatch", "review", "billing", "notify"])
            #expect(queues.first?["consumers"] as? Int == 1)

            // Usage: exit 2. Token refused: exit 4. Unreachable: exit 5.
            #expect(try await bullpen("task", "create", "--title", "no project").status == 2)
            #expect(try await bullpen("client", "list", token: "bp_wrong").status == 4)
            #expect(try await Self.bullpen(["client", "list"], port: 1, token: token).status == 5)
            #expect(try await bullpen("client", "list", token: nil).status == 4)
        }
    }

    @Test("dlq: list, replay --all in pages of commands with a progress line, purge; no broker or database")
    func deadLetters() async throws {
        // 1,205 parked notify messages: more than one replay command's worth.
        try fixture.stack.db.query(
            """
            INSERT INTO dead_letters (queue, message_id, message_type, priority, reason, body)
            SELECT 'notify', 'n:' || i, 'test.record', 2, 'the mail service refused it', '{}'::bytea
              FROM generate_series(1, 1205) AS i
            """)
        let ids = try fixture.stack.db.query("SELECT id FROM dead_letters ORDER BY id").rows.map {
            try $0.decode("id", as: Int64.self)
        }
        let token = fixture.operatorToken
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            func bullpen(_ arguments: String...) async throws -> Run {
                try await Self.bullpen(arguments, port: port, token: token)
            }
            let listed = try await bullpen("dlq", "list", "--queue", "notify", "--limit", "2")
            #expect(listed.status == 0, "\(listed.errors)")
            #expect(listed.output.contains("n:1") && listed.output.contains("the mail service refused it"))
            #expect(listed.output.contains("(more: --cursor "))

            let purged = try await bullpen("dlq", "purge", "\(ids[0])", "--wait")
            #expect(purged.status == 0, "\(purged.errors)")
            #expect(purged.output == "applied: notParked -, purged \(ids[0])\n")

            let replayed = try await bullpen("dlq", "replay", "--all", "--queue", "notify")
            #expect(replayed.status == 0, "\(replayed.errors)")
            #expect(replayed.errors == "replay: 1000 of 1204\nreplay: 1204 of 1204\n")
            #expect(replayed.output == "replayed 1204\n")
            #expect(
                try self.fixture.stack.count("SELECT count(*) FROM outbox WHERE dead_letter_id IS NOT NULL") == 1204)
            #expect(try self.fixture.stack.count("SELECT count(*) FROM dead_letters WHERE status = 'parked'") == 0)
            let empty = try await bullpen("dlq", "list", "--json")
            #expect((empty.json["data"] as? [Any])?.isEmpty == true)
            #expect(try await bullpen("dlq", "replay").status == 2)
        }
    }
}

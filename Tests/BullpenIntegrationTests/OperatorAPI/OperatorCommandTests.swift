import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import HTTPTypes
import Testing

/// Operator commands through ingest: 202 after the confirm, applied by a worker, idempotent, rejected with a
/// reason when they cannot apply; and the bad input that never gets that far.
@Suite("Operator API: commands")
final class OperatorCommandTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("commands") }
    deinit { fixture.tearDown() }

    @Test("a client, a project from a brief, tasks with a dependency, an agent and an assignment, then the reads")
    func planning() async throws {
        try await fixture.run { api in
            let client = try await api.create(
                "/v1/clients", #"{"name": "Acme", "email": "ops@acme.test", "plan": "pro"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects",
                #"{"clientId": \#(client), "name": "Landing page", "type": "website", "brief": "One page.", "tier": "sprint"}"#,
                "projectId")
            let research = try await api.create(
                "/v1/tasks", #"{"projectId": \#(project), "title": "Research", "taskType": "research"}"#, "taskId")
            let draft = try await api.create(
                "/v1/tasks",
                #"{"projectId": \#(project), "title": "Draft", "taskType": "draft", "dependsOn": [\#(research)]}"#,
                "taskId")
            let agent = try await api.create(
                "/v1/agents", #"{"name": "writer-1", "specialization": "writer", "capabilities": ["web_search"]}"#,
                "agentId")
            let assigned = try await api.command(.post, "/v1/tasks/\(research)/assign", #"{"agentId": \#(agent)}"#)
            #expect(assigned["status"] as? String == "applied")

            let shown = try await api.get("/v1/projects/\(project)")
            #expect(shown.status == .ok)
            #expect(shown.json["tier"] as? String == "sprint")
            #expect(shown.json["slaResponseHours"] as? Int == 72)
            #expect(shown.json["maxRevisions"] as? Int == 2)
            #expect(shown.json["priority"] as? Int == 2)
            let tasks = shown.json["tasks"] as? [[String: Any]] ?? []
            #expect(tasks.map { $0["id"] as? Int } == [Int(research), Int(draft)])
            #expect(tasks.map { $0["status"] as? String } == ["assigned", "pending"])
            #expect(tasks.last?["dependsOn"] as? [Int] == [Int(research)])
            #expect((shown.json["slaRecords"] as? [[String: Any]])?.first?["type"] as? String == "first_response")

            let task = try await api.get("/v1/tasks/\(research)")
            #expect(task.json["assignedAgentId"] as? Int == Int(agent))
            #expect(
                (task.json["events"] as? [[String: Any]])?.map { $0["type"] as? String } == [
                    "task.created", "task.assigned",
                ])
            let events = try await api.get("/v1/events")
            #expect(
                events.data.map { $0["type"] as? String } == [
                    "client.created", "project.created", "task.created", "task.created", "agent.registered",
                    "task.assigned", "project.active",
                ], "work assigned: the project is active")
        }
    }

    @Test("a retried POST with the same Idempotency-Key is one command and one effect; another body with it is 422")
    func idempotency() async throws {
        try await fixture.run { api in
            let body = #"{"name": "Once", "email": "once@example.test"}"#
            let first = try await api.request(.post, "/v1/clients", json: body, key: "k-1")
            let second = try await api.request(.post, "/v1/clients", json: body, key: "k-1")
            #expect(first.status == .accepted && second.status == .accepted)
            let id = try #require(first.json["commandId"] as? String)
            #expect(second.json["commandId"] as? String == id)
            #expect(first.headers[.location] == "/v1/commands/\(id)")
            #expect(try await api.settled(id)["status"] as? String == "applied")
            let third = try await api.request(.post, "/v1/clients", json: body, key: "k-1")
            #expect(third.status == .accepted)
            #expect(third.json["status"] as? String == "applied")
            #expect(try self.fixture.stack.count("SELECT count(*) FROM clients WHERE email = 'once@example.test'") == 1)

            let other = try await api.request(
                .post, "/v1/clients", json: #"{"name": "Other", "email": "other@example.test"}"#, key: "k-1")
            #expect(other.status == .unprocessableContent)
            #expect(other.code == "idempotency_key_reused")
            // Without a key, the same body twice is two commands (the second is rejected: the email is taken).
            let again = try await api.command(.post, "/v1/clients", body)
            #expect(again["status"] as? String == "rejected")
            #expect((again["error"] as? String)?.contains("once@example.test") == true)
        }
    }

    @Test("a command that cannot apply is rejected with the reason, changes nothing and is not retried")
    func rejection() async throws {
        try await fixture.run { api in
            let client = try await api.create("/v1/clients", #"{"name": "R", "email": "r@example.test"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(client), "name": "P", "type": "research", "tier": "pro"}"#,
                "projectId")
            let task = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "T"}"#, "taskId")
            let cancelled = try await api.command(.post, "/v1/tasks/\(task)/cancel", #"{"reason": "not needed"}"#)
            #expect(cancelled["status"] as? String == "applied")
            let agent = try await api.create("/v1/agents", #"{"name": "late"}"#, "agentId")
            let assign = try await api.command(.post, "/v1/tasks/\(task)/assign", #"{"agentId": \#(agent)}"#)
            #expect(assign["status"] as? String == "rejected")
            #expect(assign["error"] as? String == "task \(task) is failed; only a pending task can be assigned")
            #expect(try self.fixture.stack.taskStatus(task) == "failed")
            #expect(try self.fixture.stack.count("SELECT count(*) FROM events WHERE task_id = $1", [task]) == 2)
            let archived = try await api.command(.post, "/v1/projects/\(project)/archive", "{}")
            #expect(archived["status"] as? String == "applied")
            let late = try await api.command(.post, "/v1/tasks", #"{"projectId": \#(project), "title": "Late"}"#)
            #expect(late["error"] as? String == "project \(project) is archived; it takes no new tasks")
            #expect(try self.fixture.stack.count("SELECT count(*) FROM dead_letters") == 0)
        }
    }

    @Test(
        "cancelling a task cancels what depends on it (not what runs); task retry brings them all back as pending work that can be dispatched"
    )
    func cancelDependents() async throws {
        try await fixture.run { api in
            let client = try await api.create("/v1/clients", #"{"name": "C", "email": "c@example.test"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(client), "name": "P", "type": "research", "tier": "pro"}"#,
                "projectId")
            let research = try await api.create(
                "/v1/tasks", #"{"projectId": \#(project), "title": "Research"}"#, "taskId")
            let draft = try await api.create(
                "/v1/tasks", #"{"projectId": \#(project), "title": "Draft", "dependsOn": [\#(research)]}"#, "taskId")
            let review = try await api.create(
                "/v1/tasks", #"{"projectId": \#(project), "title": "Review", "dependsOn": [\#(draft)]}"#, "taskId")
            let aside = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "Aside"}"#, "taskId")
            let cancelled = try await api.command(.post, "/v1/tasks/\(research)/cancel", #"{"reason": "rethink"}"#)
            #expect(cancelled["status"] as? String == "applied", "\(cancelled)")
            #expect(
                (cancelled["result"] as? [String: Any])?["cancelledWith"] as? [Int] == [Int(draft), Int(review)],
                "\(cancelled)")
            for id in [research, draft, review] { #expect(try self.fixture.stack.taskStatus(id) == "failed") }
            #expect(try self.fixture.stack.taskStatus(aside) == "pending", "what does not depend on it stays")
            #expect(
                try self.fixture.stack.db.query("SELECT error FROM tasks WHERE id = $1", [review]).first?.decode(
                    "error", as: String.self) == "cancelled with task \(research), which it depends on")

            // Re-planned: retried, the three are pending again; nothing waits forever.
            let retried = try await api.command(.post, "/v1/tasks/\(research)/retry", "{}")
            #expect(retried["status"] as? String == "applied", "\(retried)")
            #expect(
                (retried["result"] as? [String: Any])?["pending"] as? [Int] == [Int(research), Int(draft), Int(review)])
            for id in [research, draft, review] { #expect(try self.fixture.stack.taskStatus(id) == "pending") }
            // Only a failed task is retried.
            let again = try await api.command(.post, "/v1/tasks/\(aside)/retry", "{}")
            #expect(
                again["status"] as? String == "rejected" && (again["error"] as? String)?.contains("pending") == true)
            // A dependent that started is not cancelled with it.
            let agent = try await api.create("/v1/agents", #"{"name": "busy-one"}"#, "agentId")
            _ = try self.fixture.stack.db.query(
                "UPDATE tasks SET status = 'running', assigned_agent_id = $2, started_at = now() WHERE id = $1",
                [draft, agent])
            let second = try await api.command(.post, "/v1/tasks/\(research)/cancel", "{}")
            #expect((second["result"] as? [String: Any])?["cancelledWith"] as? [Int] == [Int(review)], "\(second)")
            #expect(try self.fixture.stack.taskStatus(draft) == "running")
        }
    }

    @Test(
        "an agent configuration is for a Scale client, names a known model and carries only what the gateway takes: applied for one, refused with the reason otherwise"
    )
    func agentConfiguration() async throws {
        try await fixture.run { api in
            let scale = try await api.create(
                "/v1/clients", #"{"name": "Big", "email": "big@example.test", "plan": "scale"}"#, "clientId")
            let pro = try await api.create(
                "/v1/clients", #"{"name": "Mid", "email": "mid@example.test", "plan": "pro"}"#, "clientId")
            let agent = try await api.create("/v1/agents", #"{"name": "brand-writer"}"#, "agentId")
            let body = { (client: Int64, model: String) in
                #"{"clientId": \#(client), "name": "Big's writer", "systemPrompt": "Write as Big.", "model": "\#(model)", "thinking": "high", "knowledge": [{"name": "style.md", "contentType": "text/markdown", "text": "Short sentences."}]}"#
            }
            let applied = try await api.command(
                .put, "/v1/agents/\(agent)/config", body(scale, "anthropic/claude-sonnet-4-5"))
            #expect(applied["status"] as? String == "applied", "\(applied)")
            let again = try await api.command(
                .put, "/v1/agents/\(agent)/config", body(scale, "anthropic/claude-sonnet-4-5"))
            #expect(again["status"] as? String == "applied")
            let stack = self.fixture.stack
            #expect(
                try stack.count(
                    "SELECT count(*) FROM agent_configs WHERE agent_id = $1 AND thinking = 'high' AND cardinality(knowledge_base) = 1",
                    [agent]) == 1)
            #expect(try stack.count("SELECT count(*) FROM agent_knowledge WHERE body = 'Short sentences.'") == 1)
            #expect(
                try stack.count(
                    "SELECT count(*) FROM agents WHERE id = $1 AND is_custom AND custom_for_client_id = $2",
                    [agent, scale])
                    == 1)
            let refused = try await api.command(
                .put, "/v1/agents/\(agent)/config", body(pro, "anthropic/claude-sonnet-4-5"))
            #expect(refused["status"] as? String == "rejected")
            #expect(
                refused["error"] as? String
                    == "agent configurations are for clients whose plan allows custom agents (Scale); client \(pro) is on pro"
            )
            // A model the gateway is not known to offer is refused when the command is applied.
            let unknown = try await api.command(.put, "/v1/agents/\(agent)/config", body(scale, "acme/imaginary-9"))
            #expect(unknown["status"] as? String == "rejected")
            #expect((unknown["error"] as? String)?.contains("acme/imaginary-9 is not one the gateway") == true)
            // What the gateway's agent method has no field for is refused at once (400), saying why.
            for (field, value) in [("temperature", "0.4"), ("tools", #"["web_search"]"#)] {
                let response = try await api.request(
                    .put, "/v1/agents/\(agent)/config",
                    json: #"{"clientId": \#(scale), "name": "W", "systemPrompt": "P", "\#(field)": \#(value)}"#)
                #expect(response.status == .badRequest)
                #expect(response.error["field"] as? String == field, "\(response.json)")
                #expect((response.error["message"] as? String)?.contains("takes no") == true, "\(response.json)")
            }
            let pdf = try await api.request(
                .put, "/v1/agents/\(agent)/config",
                json:
                    #"{"clientId": \#(scale), "name": "W", "systemPrompt": "P", "knowledge": [{"name": "a.pdf", "contentType": "application/pdf", "text": "x"}]}"#
            )
            #expect(pdf.status == .badRequest, "\(pdf.json)")
            #expect((pdf.error["message"] as? String)?.contains("a run carries text only") == true, "\(pdf.json)")
        }
    }

    @Test(
        "a command whose row was lost (ingest records it without waiting for the WAL flush) is recorded by the worker")
    func commandWithoutRow() throws {
        let stack = fixture.stack
        let command = try OperatorCommand.parse(
            .clientCreate, Array(#"{"name": "Lost", "email": "lost@example.test"}"#.utf8))
        let message = CommandMessage(commandId: "cmd_000000000000000000000001", tokenId: 1, command: command)
        let outgoing = try Envelope.outgoing(message, topology: stack.topology, appID: "test")
        try stack.broker.admin.publish(
            exchange: outgoing.exchange, routingKey: outgoing.routingKey, body: outgoing.body,
            properties: outgoing.properties)
        #expect(
            try eventually {
                try stack.count(
                    "SELECT count(*) FROM commands WHERE id = $1 AND status = 'applied'", [message.commandId]) == 1
            })
        #expect(try stack.count("SELECT count(*) FROM clients WHERE email = 'lost@example.test'") == 1)
    }

    @Test("a token revoked while in use stops working within the token cache's lifetime (1 s)")
    func revokedWhileInUse() async throws {
        let token = try ApiTokens.create(name: "soon revoked", role: .operator, on: fixture.stack.db)
        try await fixture.run { api in
            let client = api.with(token: token.secret)
            #expect(try await client.get("/v1/clients").status == .ok)
            _ = try ApiTokens.revoke(id: token.token.id, on: self.fixture.stack.db)
            var refusedAfter: Duration?
            let start = ContinuousClock.now
            while refusedAfter == nil, ContinuousClock.now - start < .seconds(3) {
                if try await client.get("/v1/clients").status == .unauthorized {
                    refusedAfter = ContinuousClock.now - start
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let after = try #require(refusedAfter)
            #expect(after <= .milliseconds(1200))
        }
    }

    @Test("bad input is refused with its status and code, and nothing is published")
    func badInput() async throws {
        let revoked = try ApiTokens.create(name: "revoked", role: .operator, on: fixture.stack.db)
        _ = try ApiTokens.revoke(id: revoked.token.id, on: fixture.stack.db)
        let expired = try ApiTokens.create(
            name: "expired", role: .operator, expiresAt: Date().addingTimeInterval(1), on: fixture.stack.db)
        let clientID: Int64 = try fixture.stack.db.query(
            "INSERT INTO clients (name, email) VALUES ('C', 'c@example.test') RETURNING id"
        ).first!.decode("id")
        let clientToken = try ApiTokens.create(name: "c", role: .client, clientID: clientID, on: fixture.stack.db)
        let producer = try ApiTokens.create(name: "p", role: .producer, on: fixture.stack.db)
        try await Task.sleep(for: .milliseconds(1100))
        try await fixture.run { api in
            let good = #"{"name": "N", "email": "n@example.test"}"#
            let cases: [(APIClient.Answer, HTTPResponse.Status, String, String?)] = [
                (
                    try await api.with(token: nil).request(.post, "/v1/clients", json: good), .unauthorized,
                    "unauthorized", nil
                ),
                (
                    try await api.with(token: "bp_nope").request(.post, "/v1/clients", json: good), .unauthorized,
                    "unauthorized", nil
                ),
                (
                    try await api.with(token: revoked.secret).request(.post, "/v1/clients", json: good), .unauthorized,
                    "unauthorized", nil
                ),
                (
                    try await api.with(token: expired.secret).request(.post, "/v1/clients", json: good), .unauthorized,
                    "unauthorized", nil
                ),
                (
                    try await api.with(token: clientToken.secret).request(.post, "/v1/clients", json: good), .forbidden,
                    "forbidden", nil
                ),
                (try await api.with(token: producer.secret).request(.get, "/v1/clients"), .forbidden, "forbidden", nil),
                (
                    try await api.request(.post, "/v1/clients", json: #"{"name": "N"}"#), .badRequest, "invalid_field",
                    "email"
                ),
                (
                    try await api.request(.post, "/v1/clients", json: #"{"name": 5, "email": "n@example.test"}"#),
                    .badRequest, "invalid_field", "name"
                ),
                (
                    try await api.request(.post, "/v1/clients", json: #"{"name": "N", "email": "nope"}"#), .badRequest,
                    "invalid_field", "email"
                ),
                (
                    try await api.request(
                        .post, "/v1/clients", json: #"{"name": "N", "email": "n@example.test", "colour": 1}"#),
                    .badRequest, "invalid_field", "colour"
                ),
                (
                    try await api.request(
                        .post, "/v1/clients", json: #"{"name": "N", "email": "n@example.test", "plan": "gold"}"#),
                    .badRequest, "invalid_field", "plan"
                ),
                (
                    try await api.request(
                        .post, "/v1/clients", json: #"{"name": "N\u0000", "email": "n@example.test"}"#), .badRequest,
                    "invalid_field", "name"
                ),
                (try await api.request(.post, "/v1/clients", json: "[1]"), .badRequest, "invalid_body", nil),
                (
                    try await api.request(.post, "/v1/clients", json: good, contentType: "text/plain"),
                    .unsupportedMediaType, "unsupported_media_type", nil
                ),
                (
                    try await api.request(.post, "/v1/clients", json: good, key: "has space"), .badRequest,
                    "invalid_header", "Idempotency-Key"
                ),
                (
                    try await api.request(.post, "/v1/tasks", json: #"{"projectId": 99999, "title": "T"}"#),
                    .unprocessableContent, "unknown_reference", "projectId"
                ),
                (
                    try await api.request(.post, "/v1/tasks", json: #"{"projectId": 1, "title": "T", "priority": 9}"#),
                    .badRequest, "invalid_field", "priority"
                ),
                (
                    try await api.request(.patch, "/v1/clients/\(clientID)", json: "{}"), .badRequest, "invalid_body",
                    nil
                ),
                (
                    try await api.request(.patch, "/v1/clients/\(clientID)", json: #"{"id": 7, "name": "X"}"#),
                    .badRequest, "invalid_field", "id"
                ),
                (
                    try await api.request(.patch, "/v1/clients/424242", json: #"{"name": "X"}"#), .unprocessableContent,
                    "unknown_reference", "id"
                ),
                (try await api.request(.delete, "/v1/clients"), .methodNotAllowed, "method_not_allowed", nil),
                (try await api.get("/v1/clients/abc"), .notFound, "not_found", nil),
                (try await api.get("/v1/commands/cmd_0000"), .notFound, "not_found", nil),
            ]
            for (answer, status, code, field) in cases {
                #expect(answer.status == status, "\(answer.json)")
                #expect(answer.code == code, "\(answer.json)")
                #expect(answer.error["field"] as? String == field, "\(answer.json)")
                #expect((answer.error["message"] as? String)?.isEmpty == false)
            }
        }
        #expect(try fixture.commandQueueDepth() == 0)
        #expect(try fixture.stack.count("SELECT count(*) FROM commands") == 0)
        #expect(try fixture.stack.count("SELECT count(*) FROM inbox") == 0)
    }
}

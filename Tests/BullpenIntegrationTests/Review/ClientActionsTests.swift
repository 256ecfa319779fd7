import BullpenDomain
import BullpenStore
import Crypto
import Files
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgreSQL
import Testing

/// The client's own actions through ingest with two clients' tokens: each reads and acts on its own rows
/// only (another's are 404 or an unknown reference, never a probe), a rating and feedback, a revision within
/// the plan, the project's thread (a message waits for an answer: its SLA, the operators told; the answer
/// tells the client).
@Suite("Client actions", .serialized)
final class ClientActionsTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("client-actions") }
    deinit { fixture.tearDown() }

    /// A completed task's version on the project, opened for review; delivered through the API if asked.
    func version(_ api: APIClient, project: Int64, agent: Int64, title: String, deliver: Bool) async throws -> Int64 {
        let task: Int64 = try #require(
            try stack.db.query(
                """
                INSERT INTO tasks (title, status, project_id, assigned_agent_id, task_type, result, completed_at)
                VALUES ($1, 'completed', $2, $3, 'draft', 'the copy', now()) RETURNING id
                """, [title, project, agent]
            ).first?.decode("id"))
        let id = try #require(
            try stack.db.transaction { tx in
                try DeliverableStore.openVersions(completed: [task], messageID: "open-\(task)", in: tx)
            }.first?.id)
        if deliver {
            let delivered = try await api.command(.post, "/v1/deliverables/\(id)/deliver", "{}")
            #expect(delivered["status"] as? String == "applied", "\(delivered)")
        }
        return id
    }

    /// Two clients (Acme with a project on `tier`, another), an agent, a version delivered to Acme and one in
    /// review, and each client's token.
    func setUp(
        _ api: APIClient, tier: String
    ) async throws -> (
        project: Int64, delivered: Int64, inReview: Int64, mine: APIClient, theirs: APIClient
    ) {
        let acme = try await api.create("/v1/clients", #"{"name": "Acme", "email": "cto@acme.test"}"#, "clientId")
        let other = try await api.create("/v1/clients", #"{"name": "Other", "email": "o@other.test"}"#, "clientId")
        let project = try await api.create(
            "/v1/projects", #"{"clientId": \#(acme), "name": "Launch", "type": "content", "tier": "\#(tier)"}"#,
            "projectId")
        let agent = try await api.create("/v1/agents", #"{"name": "writer-ca", "specialization": "writer"}"#, "agentId")
        let delivered = try await version(api, project: project, agent: agent, title: "Copy", deliver: true)
        let inReview = try await version(api, project: project, agent: agent, title: "Page", deliver: false)
        let mine = api.with(
            token: try ApiTokens.create(name: "acme", role: .client, clientID: acme, on: stack.db).secret)
        let theirs = api.with(
            token: try ApiTokens.create(name: "other", role: .client, clientID: other, on: stack.db).secret)
        return (project, delivered, inReview, mine, theirs)
    }

    @Test("two clients: own rows only; feedback and rating; a revision within the plan; the thread and its SLA")
    func twoClients() async throws {
        try await fixture.run { api in
            let (project, delivered, inReview, mine, theirs) = try await self.setUp(api, tier: "sprint")

            // Reads: each its own.
            #expect(try await mine.get("/v1/deliverables").data.compactMap { jsonID($0["id"]) } == [delivered])
            #expect(try await theirs.get("/v1/deliverables").data.isEmpty)

            // Feedback: the client's, on what was delivered to it.
            let rated = try await mine.command(
                .post, "/v1/deliverables/\(delivered)/feedback", #"{"rating": 5, "feedback": "Sharp."}"#)
            #expect(rated["status"] as? String == "applied", "\(rated)")
            let row = try #require(
                try self.stack.db.query(
                    "SELECT client_rating, client_feedback FROM deliverables WHERE id = $1", [delivered]
                ).first)
            #expect(try row.decode("client_rating", as: Int?.self) == 5)
            #expect(try row.decode("client_feedback", as: String?.self) == "Sharp.")
            for (client, id) in [(theirs, delivered), (mine, inReview)] {
                let refused = try await client.request(
                    .post, "/v1/deliverables/\(id)/feedback", json: #"{"rating": 1}"#)
                #expect(refused.status == .unprocessableContent)
                #expect(refused.code == "unknown_reference", "\(refused.json)")
            }
            let byOperator = try await api.request(
                .post, "/v1/deliverables/\(delivered)/feedback", json: #"{"rating": 1}"#)
            #expect(byOperator.status == .forbidden)
            let noRating = try await mine.request(
                .post, "/v1/deliverables/\(delivered)/feedback", json: #"{"rating": 6}"#)
            #expect(noRating.status == .badRequest && noRating.error["field"] as? String == "rating")

            // A revision of delivered work, as the client: counted, dispatched to the version's agent.
            let revised = try await mine.command(
                .post, "/v1/deliverables/\(delivered)/revision", #"{"notes": "Warmer tone."}"#)
            #expect(revised["status"] as? String == "applied", "\(revised)")
            #expect((revised["result"] as? [String: Any])?["revisionRound"] as? Int == 1)
            #expect(try self.stack.count("SELECT revision_count FROM projects WHERE id = $1", [project]) == 1)
            #expect(
                try self.stack.db.query(
                    "SELECT message FROM events WHERE type = 'deliverable.revision_requested'"
                ).first?.decode("message", as: String.self).contains("requested by the client") == true)
            let overriding = try await mine.command(
                .post, "/v1/deliverables/\(delivered)/revision", #"{"notes": "Again.", "overrideReason": "please"}"#)
            #expect(overriding["status"] as? String == "rejected")
            #expect(
                (overriding["error"] as? String) == "only an operator can allow a revision past the plan's rounds",
                "\(overriding)")
            #expect(
                try await mine.request(.post, "/v1/deliverables/\(inReview)/revision", json: #"{"notes": "x"}"#)
                    .code == "unknown_reference")
            // Operators' commands stay the operators'.
            let planning = try await mine.request(
                .post, "/v1/tasks", json: #"{"projectId": \#(project), "title": "Mine"}"#)
            #expect(planning.status == .forbidden)
            #expect(
                try await mine.request(.post, "/v1/deliverables/\(delivered)/approve", json: "{}").status == .forbidden)

            // The thread: the client writes (an SLA waits, the operators are told), the operator answers.
            let wrote = try await mine.command(.post, "/v1/projects/\(project)/messages", #"{"body": "Any news?"}"#)
            #expect(wrote["status"] as? String == "applied", "\(wrote)")
            #expect(
                try await theirs.request(.post, "/v1/projects/\(project)/messages", json: #"{"body": "Hi"}"#).code
                    == "unknown_reference")
            #expect(try await theirs.get("/v1/projects/\(project)/messages").status == .notFound)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM sla_records WHERE project_id = $1 AND type = 'message_response' AND status = 'on_track'",
                    [project]) == 1)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE kind = 'client-message'") == 1)
            let answered = try await api.command(
                .post, "/v1/projects/\(project)/messages", #"{"body": "Version 2 lands today."}"#)
            #expect(answered["status"] as? String == "applied", "\(answered)")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM sla_records WHERE project_id = $1 AND type = 'message_response' AND status = 'met'",
                    [project]) == 1)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE kind = 'new-message' AND recipient = 'cto@acme.test'")
                    == 1)
            let thread = try await mine.get("/v1/projects/\(project)/messages")
            #expect(thread.data.map { $0["sender"] as? String } == ["client", "operator"])
            #expect(thread.data.map { $0["content"] as? String } == ["Any news?", "Version 2 lands today."])
        }
    }

    @Test(
        "a client sees delivered work only: no version in review on its project, no task's raw result, agent, attempts or error, no review or quality events"
    )
    func deliveredOnly() async throws {
        try await fixture.run { api in
            let (project, delivered, inReview, mine, _) = try await self.setUp(api, tier: "pro")
            let reviewTask: Int64 = try #require(
                try self.stack.db.query("SELECT task_id FROM deliverables WHERE id = $1", [inReview]).first?.decode(
                    "task_id"))
            _ = try self.stack.db.query(
                "UPDATE tasks SET error = 'agent crashed: OOM in tool call' WHERE id = $1", [reviewTask])
            let shown = try await mine.get("/v1/projects/\(project)")
            let versions = (shown.json["deliverables"] as? [[String: Any]] ?? []).compactMap { jsonID($0["id"]) }
            #expect(versions == [delivered], "the version in review is the operators'")
            #expect(
                try await mine.get("/v1/deliverables?project=\(project)").data.compactMap { jsonID($0["id"]) } == [
                    delivered
                ])
            #expect(try await mine.get("/v1/deliverables/\(inReview)").status == .notFound)
            let hidden: Set<String> = [
                "result", "assignedAgentId", "attempts", "attempt", "error", "estimatedDurationMs",
            ]
            for task in try await mine.get("/v1/tasks?project=\(project)").data {
                #expect(Set(task.keys).isDisjoint(with: hidden), "\(task)")
            }
            let one = try await mine.get("/v1/tasks/\(reviewTask)")
            #expect(one.status == .ok)
            #expect(Set(one.json.keys).isDisjoint(with: hidden), "\(one.json)")
            let types = try await mine.get("/v1/events?after=0&limit=200").data.compactMap { $0["type"] as? String }
            #expect(!types.contains("deliverable.review") && types.contains("deliverable.delivered"), "\(types)")
            // The operator sees all of it.
            let operatorView = try await api.get("/v1/tasks/\(reviewTask)")
            #expect(operatorView.json["result"] as? String == "the copy")
            #expect(operatorView.json["error"] as? String == "agent crashed: OOM in tool call")
            #expect((try await api.get("/v1/projects/\(project)").json["deliverables"] as? [Any])?.count == 2)
        }
    }

    /// A GET without a token (a download link is its own permission): the status, type and body.
    func download(
        _ api: APIClient, _ uri: String
    ) async throws -> (status: HTTPResponse.Status, type: String?, body: String, disposition: String?) {
        let response = try await api.client.executeRequest(uri: uri, method: .get, headers: [:], body: nil)
        return (
            response.status, response.headers[.contentType], String(buffer: response.body),
            response.headers[.contentDisposition]
        )
    }

    @Test(
        "files: uploaded by content and attached; listed with signed links to whoever sees the version; downloaded; an altered or expired link is 403; wrong type 415, too large 413"
    )
    func files() async throws {
        try await fixture.run { api in
            let (_, delivered, inReview, mine, theirs) = try await self.setUp(api, tier: "pro")
            let report = "# Report\n\nThe findings."
            let uploaded = try await api.request(
                .post, "/v1/deliverables/\(delivered)/files?name=report.md", json: report, contentType: "text/markdown")
            #expect(uploaded.status == .accepted, "\(uploaded.json)")
            let attached = try await api.settled(try #require(uploaded.json["commandId"] as? String))
            #expect(attached["status"] as? String == "applied", "\(attached)")
            let fileID = FileID.of(Array(report.utf8))
            #expect((attached["result"] as? [String: Any])?["fileId"] as? String == fileID)
            let draft = try await api.request(
                .post, "/v1/deliverables/\(inReview)/files?name=draft.md", json: "# Draft", contentType: "text/markdown"
            )
            _ = try await api.settled(try #require(draft.json["commandId"] as? String))
            #expect(
                try self.stack.db.query(
                    "SELECT array_to_string(file_ids, ',') AS ids FROM deliverables WHERE id = $1", [delivered]
                ).first?.decode("ids", as: String.self) == fileID)

            // Refused uploads: a type not allowed, too large, no name, a client's.
            #expect(
                try await api.request(
                    .post, "/v1/deliverables/\(delivered)/files?name=a.exe", json: "MZ",
                    contentType: "application/x-msdownload"
                ).status == .unsupportedMediaType)
            #expect(
                try await api.request(
                    .post, "/v1/deliverables/\(delivered)/files?name=big.txt",
                    json: String(repeating: "x", count: 70_000),
                    contentType: "text/plain"
                ).status == .contentTooLarge)
            #expect(
                try await api.request(
                    .post, "/v1/deliverables/\(delivered)/files", json: "x", contentType: "text/plain"
                )
                .error["field"] as? String == "name")
            #expect(
                try await mine.request(
                    .post, "/v1/deliverables/\(delivered)/files?name=x.txt", json: "x", contentType: "text/plain"
                ).status == .forbidden)

            // Listed with links to whoever sees the version.
            let listed = try await mine.get("/v1/deliverables/\(delivered)/files")
            #expect(listed.status == .ok)
            #expect(listed.data.map { $0["name"] as? String } == ["report.md"])
            let url = try #require(listed.data.first?["url"] as? String)
            #expect(try await mine.get("/v1/deliverables/\(inReview)/files").status == .notFound)
            #expect(try await theirs.get("/v1/deliverables/\(delivered)/files").status == .notFound)
            #expect(try await api.get("/v1/deliverables/\(inReview)/files").data.count == 1)

            // Downloaded with the link alone; altered or expired, 403 with the reason.
            let got = try await self.download(api.with(token: nil), url)
            #expect(got.status == .ok && got.body == report && got.type == "text/markdown")
            let altered = url.replacingOccurrences(of: "expires=", with: "expires=1")
            let forged = try await self.download(api.with(token: nil), altered)
            #expect(forged.status == .forbidden && forged.body.contains("signature does not match"))
            let past = Int(Date().timeIntervalSince1970) - 10
            let expired =
                "/files/\(fileID)?"
                + DownloadLink.query(
                    fileID: fileID, deliverableID: delivered, expires: past, key: Array(StackFixture.linkSecret.utf8)
                ) {
                    key, message in
                    Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                }
            let late = try await self.download(api.with(token: nil), expired)
            #expect(late.status == .forbidden && late.body.contains("expired"), "\(late.body)")
            #expect(try await self.download(api.with(token: nil), "/files/\(fileID)").status == .forbidden)
        }
    }

    @Test(
        "a file belongs to its attachment: two clients attaching the same bytes under their own names and types each see and download only their own"
    )
    func sameBytesTwoClients() async throws {
        try await fixture.run { api in
            let (_, delivered, _, mine, theirs) = try await self.setUp(api, tier: "pro")
            let other: Int64 = try #require(
                try self.stack.db.query("SELECT id FROM clients WHERE email = 'o@other.test'").first?.decode("id"))
            let theirProject = try await api.create(
                "/v1/projects", #"{"clientId": \#(other), "name": "Theirs", "type": "content", "tier": "pro"}"#,
                "projectId")
            let agent: Int64 = try #require(try self.stack.db.query("SELECT id FROM agents").first?.decode("id"))
            let theirVersion = try await self.version(
                api, project: theirProject, agent: agent, title: "Their copy", deliver: true)
            let bytes = "the same bytes, attached twice"
            for (id, name, type) in [
                (delivered, "acme-plan.md", "text/markdown"), (theirVersion, "other-secret-merger.txt", "text/plain"),
            ] {
                let uploaded = try await api.request(
                    .post, "/v1/deliverables/\(id)/files?name=\(name)", json: bytes, contentType: type)
                let settled = try await api.settled(try #require(uploaded.json["commandId"] as? String))
                #expect(settled["status"] as? String == "applied", "\(settled)")
            }
            for (client, id, name, type) in [
                (mine, delivered, "acme-plan.md", "text/markdown"),
                (theirs, theirVersion, "other-secret-merger.txt", "text/plain"),
            ] {
                let listed = try await client.get("/v1/deliverables/\(id)/files")
                #expect(listed.data.map { $0["name"] as? String } == [name])
                #expect(listed.data.map { $0["contentType"] as? String } == [type])
                let got = try await self.download(
                    api.with(token: nil), try #require(listed.data.first?["url"] as? String))
                #expect(got.status == .ok && got.body == bytes)
                #expect(got.disposition == "attachment; filename=\"\(name)\"", "\(String(describing: got.disposition))")
                #expect(got.type == type)
            }
            // Acme's link cannot be turned into Other's attachment: the version is part of the signature.
            let url = try #require(
                try await mine.get("/v1/deliverables/\(delivered)/files").data.first?["url"] as? String)
            let moved = url.replacingOccurrences(of: "deliverable=\(delivered)", with: "deliverable=\(theirVersion)")
            #expect(try await self.download(api.with(token: nil), moved).status == .forbidden)
        }
    }

    @Test(
        "a client's brief opens a project of its own on its plan, the operators told; none without a plan or for an operator"
    )
    func brief() async throws {
        try await fixture.run { api in
            let acme = try await api.create("/v1/clients", #"{"name": "Acme", "email": "b@acme.test"}"#, "clientId")
            let mine = api.with(
                token: try ApiTokens.create(name: "acme", role: .client, clientID: acme, on: self.stack.db).secret)
            let body = #"{"name": "Investor update", "brief": "One page.", "deadline": "2027-01-31T23:59:59Z"}"#
            let planless = try await mine.command(.post, "/v1/briefs", body)
            #expect(planless["status"] as? String == "rejected")
            #expect(planless["error"] as? String == "a new brief needs a plan: choose one on your home page first")
            _ = try self.stack.db.query(
                """
                INSERT INTO subscriptions (client_id, plan, status, price_amount_cents, period_start, response_time_hours)
                VALUES ($1, 'pro', 'active', 450000, now(), 24)
                """, [acme])
            let briefed = try await mine.command(.post, "/v1/briefs", body)
            #expect(briefed["status"] as? String == "applied", "\(briefed)")
            let project = try #require(jsonID((briefed["result"] as? [String: Any])?["projectId"]))
            let row = try #require(
                try self.stack.db.query(
                    "SELECT client_id, tier, brief, subscription_id IS NOT NULL AS planned FROM projects WHERE id = $1",
                    [project]
                ).first)
            #expect(try row.decode("client_id", as: Int64.self) == acme)
            #expect(try row.decode("tier", as: String.self) == "pro")
            #expect(try row.decode("brief", as: String.self) == "One page.")
            #expect(try row.decode("planned", as: Bool.self))
            #expect(
                try self.stack.count(
                    "SELECT count(*)::int FROM notifications WHERE kind = 'new-brief' AND project_id = $1", [project])
                    >= 1)
            #expect(
                try self.stack.count(
                    "SELECT count(*)::int FROM notifications WHERE kind = 'project-underway' AND project_id = $1",
                    [project]) == 1)
            // A client names no client: a clientId in the body is not a field of a brief.
            let other = try await mine.request(
                .post, "/v1/briefs", json: #"{"name": "X", "brief": "Y", "clientId": 1}"#)
            #expect(other.status == .badRequest && other.error["field"] as? String == "clientId", "\(other.json)")
            #expect(
                try await api.request(.post, "/v1/briefs", json: #"{"name": "X", "brief": "Y"}"#).status == .forbidden)
        }
    }

    @Test(
        "an operator's own time: added to a project and its task, listed by project, task, client and agent; a task of another project refused; clients get 403"
    )
    func time() async throws {
        try await fixture.run { api in
            let acme = try await api.create("/v1/clients", #"{"name": "Acme", "email": "t@acme.test"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(acme), "name": "Launch", "type": "content", "tier": "pro"}"#,
                "projectId")
            let other = try await api.create(
                "/v1/projects", #"{"clientId": \#(acme), "name": "Other", "type": "content", "tier": "pro"}"#,
                "projectId")
            let task = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "Draft"}"#, "taskId")
            let added = try await api.command(
                .post, "/v1/time-entries",
                #"{"projectId": \#(project), "taskId": \#(task), "minutes": 45, "type": "client_meeting", "description": "Kick-off"}"#
            )
            #expect(added["status"] as? String == "applied", "\(added)")
            let wrong = try await api.command(
                .post, "/v1/time-entries",
                #"{"projectId": \#(other), "taskId": \#(task), "minutes": 5, "type": "admin"}"#)
            #expect(wrong["status"] as? String == "rejected")
            #expect(wrong["error"] as? String == "task \(task) is not project \(other)'s")
            for filter in ["project=\(project)", "task=\(task)", "client=\(acme)"] {
                let rows = try await api.get("/v1/time-entries?\(filter)").data
                #expect(rows.count == 1 && rows.first?["durationMs"] as? Int == 2_700_000, "\(filter)")
                #expect(
                    rows.first?["type"] as? String == "client_meeting"
                        && rows.first?["operatorId"] as? String == "operator")
            }
            #expect(try await api.get("/v1/time-entries?project=\(other)").data.isEmpty)
            #expect(try await api.get("/v1/time-entries?agent=1").data.isEmpty)
            let mine = api.with(
                token: try ApiTokens.create(name: "acme", role: .client, clientID: acme, on: self.stack.db).secret)
            #expect(try await mine.request(.get, "/v1/time-entries").status == .forbidden)
            let refused = try await api.request(
                .post, "/v1/time-entries", json: #"{"projectId": \#(project), "minutes": 0, "type": "admin"}"#)
            #expect(refused.status == .badRequest && refused.error["field"] as? String == "minutes")
        }
    }
}

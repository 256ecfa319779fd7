import BullpenDomain
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Foundation
import HummingbirdTesting
import PostgreSQL
import Providers
import Testing

/// The human review loop end to end on the real services, the sandbox gateway and the sandbox Resend: a result
/// opens version 1 in review; a revision goes to the same agent at priority 5 and opens version 2; a rejection
/// on quality counts against that agent and another agent does the work (version 3); delivery tells the client
/// once; a revision of the delivered work reopens the project, tells the client, and is counted against the
/// plan's rounds (Sprint: 2), which only an operator's reason can pass.
@Suite("The review loop", .serialized)
final class ReviewLoopTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }
    static let hookSecret = "whsec_review_loop_hook"
    let tokens = try! CallbackTokenIssuer(secret: "a test secret of more than thirty-two characters")

    init() throws { fixture = try OperatorAPIFixture("review-loop", hookSecrets: [Self.hookSecret]) }
    deinit { fixture.tearDown() }

    struct Version {
        let id: Int64
        let version: Int
        let status: String
        let previous: Int64?
        let taskID: Int64
    }

    /// The work's deliverable versions, oldest first.
    func versions(project: Int64) throws -> [Version] {
        try stack.db.query(
            "SELECT id, version, status, previous_version_id, task_id FROM deliverables WHERE project_id = $1 ORDER BY version",
            [project]
        ).rows.map {
            Version(
                id: try $0.decode("id"), version: try $0.decode("version"), status: try $0.decode("status"),
                previous: try $0.decode("previous_version_id", as: Int64?.self), taskID: try $0.decode("task_id"))
        }
    }

    func result(_ command: [String: Any]) -> [String: Any] { command["result"] as? [String: Any] ?? [:] }

    @Test(
        "result, review, revision to the same agent, reject and redo by another, deliver, a revision of delivered work, the plan's limit and its override"
    )
    func loop() async throws {
        try await SandboxNotify.withOutbound(logger: stack.logger) { outbound, notify, port in
            try await self.fixture.withGateway(hookSecret: Self.hookSecret, tokens: self.tokens, notify: notify) {
                api, gateway in
                try await self.story(api, gateway, outbound, port: port)
            }
        }
    }

    func story(_ api: APIClient, _ gateway: SandboxGateway, _ outbound: SandboxOutbound, port: Int) async throws {
        let slack = "http://127.0.0.1:\(port)/slack/T0-B0-secret"
        let discord = "http://127.0.0.1:\(port)/discord/1/secret"
        let client = try await api.create(
            "/v1/clients",
            #"{"name": "Acme", "email": "cto@acme.test", "slackWebhookUrl": "\#(slack)", "discordWebhookUrl": "\#(discord)"}"#,
            "clientId")
        let project = try await api.create(
            "/v1/projects", #"{"clientId": \#(client), "name": "Launch", "type": "content", "tier": "sprint"}"#,
            "projectId")
        let first = try await api.create(
            "/v1/agents", #"{"name": "writer-a", "specialization": "writer"}"#, "agentId")
        let second = try await api.create(
            "/v1/agents", #"{"name": "writer-b", "specialization": "writer"}"#, "agentId")
        let task = try await api.create(
            "/v1/tasks", #"{"projectId": \#(project), "title": "Draft the copy", "taskType": "draft"}"#, "taskId")
        let dispatched = try await api.command(.post, "/v1/tasks/\(task)/dispatch", #"{"agentId": \#(first)}"#)
        #expect(dispatched["status"] as? String == "applied", "\(dispatched)")
        #expect(try eventually(timeout: .seconds(15)) { try self.versions(project: project).count == 1 })
        let v1 = try #require(try versions(project: project).first)
        #expect(v1.version == 1 && v1.status == "review" && v1.taskID == task)

        // A revision: to the same agent, at priority 5, dispatched; its result is version 2, linked to 1.
        let revised = try await api.command(
            .post, "/v1/deliverables/\(v1.id)/revision", #"{"notes": "Shorter, and name the product."}"#)
        #expect(revised["status"] as? String == "applied", "\(revised)")
        #expect(result(revised)["dispatched"] as? Bool == true)
        #expect(jsonID(result(revised)["agentId"]) == first)
        #expect(result(revised)["revisionRound"] as? Int == 1)
        let revision = try #require(jsonID(result(revised)["taskId"]))
        let revisionRow = try #require(
            try stack.db.query(
                "SELECT parent_task_id, task_type, priority, description FROM tasks WHERE id = $1", [revision]
            ).first)
        #expect(try revisionRow.decode("parent_task_id", as: Int64?.self) == task)
        #expect(try revisionRow.decode("task_type", as: String?.self) == "revision")
        #expect(try revisionRow.decode("priority", as: Int.self) == 5)
        #expect(try revisionRow.decode("description", as: String?.self) == "Shorter, and name the product.")
        #expect(try eventually(timeout: .seconds(15)) { try self.versions(project: project).count == 2 })
        var all = try versions(project: project)
        #expect(all[0].status == "rejected", "the version a revision replaces is not delivered")
        #expect(all[1].version == 2 && all[1].previous == v1.id && all[1].taskID == revision)
        #expect(try stack.count("SELECT revision_count FROM projects WHERE id = $1", [project]) == 1)
        #expect(
            try stack.db.query("SELECT revision_notes FROM deliverables WHERE id = $1", [v1.id]).first?.decode(
                "revision_notes", as: String?.self) == "Shorter, and name the product.")

        // Rejected on quality: writer-a's failure rate counts it; writer-b does the work again (version 3).
        let rejected = try await api.command(
            .post, "/v1/deliverables/\(all[1].id)/reject", #"{"notes": "Invents a price."}"#)
        #expect(rejected["status"] as? String == "applied", "\(rejected)")
        #expect(jsonID(result(rejected)["agentId"]) == second, "another agent of the specialization")
        let redo = try #require(jsonID(result(rejected)["taskId"]))
        let rate: Double = try #require(
            try stack.db.query("SELECT failure_rate FROM agents WHERE id = $1", [first]).first?.decode("failure_rate"))
        #expect(rate == 0.5, "writer-a: two completed runs, one of them rejected")
        #expect(
            try stack.count(
                "SELECT count(*) FROM events WHERE type = 'agent.quality_failure' AND agent_id = $1", [first]) == 1)
        #expect(try eventually(timeout: .seconds(15)) { try self.versions(project: project).count == 3 })
        all = try versions(project: project)
        #expect(all[1].status == "rejected")
        #expect(all[2].version == 3 && all[2].previous == all[1].id && all[2].taskID == redo)

        // Delivered: the client is emailed once; the project is delivered.
        let delivered = try await api.command(.post, "/v1/deliverables/\(all[2].id)/deliver", "{}")
        #expect(result(delivered)["projectDelivered"] as? Bool == true, "\(delivered)")
        #expect(
            try eventually {
                outbound.snapshot.emails.filter {
                    $0.to == ["cto@acme.test"] && $0.subject.hasPrefix("Your deliverable is ready")
                }.count == 1
            })

        // The client wants more: a revision of delivered work (round 2 of 2) reopens the project, goes to the
        // version's agent (writer-b), and the client is told.
        let again = try await api.command(
            .post, "/v1/deliverables/\(all[2].id)/revision", #"{"notes": "Add a headline."}"#)
        #expect(again["status"] as? String == "applied", "\(again)")
        #expect(jsonID(result(again)["agentId"]) == second)
        #expect(result(again)["revisionRound"] as? Int == 2)
        #expect(
            try stack.db.query("SELECT status FROM projects WHERE id = $1", [project]).first?.decode(
                "status", as: String.self) == "active")
        #expect(
            try stack.db.query("SELECT status FROM deliverables WHERE id = $1", [all[2].id]).first?.decode(
                "status", as: String.self) == "delivered", "the client keeps what it received")
        #expect(
            try eventually {
                outbound.snapshot.emails.contains {
                    $0.to == ["cto@acme.test"] && $0.subject == "Revision under way: Draft the copy"
                }
            })
        #expect(try eventually(timeout: .seconds(15)) { try self.versions(project: project).count == 4 })

        // Past the Sprint plan's 2 rounds: refused with the reason, unless an operator gives one.
        let v4 = try #require(try versions(project: project).last)
        let refused = try await api.command(.post, "/v1/deliverables/\(v4.id)/revision", #"{"notes": "More."}"#)
        #expect(refused["status"] as? String == "rejected")
        #expect(
            (refused["error"] as? String)?.contains("has used 2 of its 2 revision rounds") == true, "\(refused)")
        let overridden = try await api.command(
            .post, "/v1/deliverables/\(v4.id)/revision",
            #"{"notes": "More.", "overrideReason": "Our error in version 3"}"#)
        #expect(overridden["status"] as? String == "applied", "\(overridden)")
        #expect(result(overridden)["revisionRound"] as? Int == 3)
        #expect(try stack.count("SELECT revision_count FROM projects WHERE id = $1", [project]) == 3)
        #expect(
            try stack.db.query(
                "SELECT message FROM events WHERE type = 'deliverable.revision_requested' ORDER BY id DESC LIMIT 1"
            ).first?.decode("message", as: String.self).contains("past the plan's 2: Our error in version 3") == true)

        // The project moved with its work, through its lifecycle only: intake, active when work started, review
        // when all open work waited for review, delivered when all was, active again for the revision.
        let moves = try stack.db.query(
            "SELECT type FROM events WHERE project_id = $1 AND type LIKE 'project.%' ORDER BY txid, id", [project]
        ).rows.map { try $0.decode("type", as: String.self) }
        #expect(
            moves == [
                "project.created", "project.active", "project.review",  // dispatched; version 1 in review
                "project.active", "project.review",  // a revision; version 2
                "project.active", "project.review",  // rejected and redone by another agent; version 3
                "project.delivered", "project.active",  // delivered; the client's revision reopens it
                "project.review", "project.active",  // version 4; the overridden round
            ], "\(moves)")
        #expect(
            moves.firstIndex(of: "project.delivered").map { moves[($0 + 1)...].first == "project.active" } == true,
            "delivered, then reopened by the revision: \(moves)")

        // The operator's review time: one entry per decision on a version in review (versions 1 to 4; the
        // refused round wrote none, the revision of delivered work was not a review).
        #expect(
            try stack.count(
                "SELECT count(*) FROM time_entries WHERE project_id = $1 AND type = 'operator_review' AND duration_ms >= 0",
                [project]) == 4)

        // The client's Slack and Discord carried the project's start, the delivery and the revision notice,
        // once each; the notifications name the client, never the webhook (a credential).
        #expect(
            try eventually {
                outbound.snapshot.slack.count == 3 && outbound.snapshot.discord.count == 3
            }, "\(outbound.snapshot.slack) \(outbound.snapshot.discord)")
        #expect(outbound.snapshot.slack.first?.hasPrefix("Your project is underway: Launch") == true)
        #expect(
            outbound.snapshot.slack.dropFirst().first?.hasPrefix("Your deliverable is ready: Draft the copy") == true)
        #expect(outbound.snapshot.discord.last?.hasPrefix("Revision under way: Draft the copy") == true)
        let chats = try await api.get("/v1/notifications?kind=deliverable-ready")
        #expect(Set(chats.data.compactMap { $0["channel"] as? String }) == ["email", "slack", "discord"])
        #expect(!String(describing: chats.json).contains("secret"), "no webhook URL in the API")
        #expect(try await api.get("/v1/clients/\(client)").json["slackConnected"] as? Bool == true)

        // Every email once: the client's project start, delivery and revision notices, the operators' alerts.
        let emails = outbound.snapshot.emails
        #expect(emails.filter { $0.subject == "Your project is underway: Launch" }.count == 1)
        #expect(emails.filter { $0.subject.hasPrefix("Your deliverable is ready") }.count == 1)
        #expect(emails.filter { $0.subject.hasPrefix("Revision under way") }.count == 1)
        #expect(
            try eventually(timeout: .seconds(15)) {
                outbound.snapshot.emails.filter { $0.subject.hasPrefix("[Bullpen] Review waiting:") }.count == 5
            }, "versions 1 to 5")
        #expect(
            try eventually { gateway.snapshot.runsStarted == 5 }, "the original, two revisions, the redo, a third")
        #expect(try eventually(timeout: .seconds(15)) { try self.versions(project: project).count == 5 })
        #expect(
            try eventually {
                try self.stack.count(
                    "SELECT count(*) FROM notifications WHERE kind = 'review-waiting' AND status = 'sent'") == 5
            })
        try await reads(api, project: project, client: client, delivered: all[2].id, inReview: v4.id)
    }

    /// What each token reads: the operator every version and every notification; the client only what was
    /// delivered to it; another client nothing.
    func reads(_ api: APIClient, project: Int64, client: Int64, delivered: Int64, inReview: Int64) async throws {
        let operatorList = try await api.get("/v1/deliverables?project=\(project)")
        #expect(operatorList.status == .ok)
        #expect(operatorList.data.count == 5)
        #expect(
            operatorList.data.contains { $0["reviewNotes"] as? String == "Invents a price." },
            "the operator reads the reviewer's notes")
        let rejectedOnly = try await api.get("/v1/deliverables?project=\(project)&status=rejected")
        #expect(rejectedOnly.data.count == 3, "versions 1, 2 and 4")
        let other = try await api.create("/v1/clients", #"{"name": "Other", "email": "o@other.test"}"#, "clientId")
        let own = api.with(
            token: try ApiTokens.create(name: "acme portal", role: .client, clientID: client, on: stack.db).secret)
        let stranger = api.with(
            token: try ApiTokens.create(name: "other portal", role: .client, clientID: other, on: stack.db).secret)
        let seen = try await own.get("/v1/deliverables")
        #expect(seen.data.map { jsonID($0["id"]) } == [delivered], "only what was delivered to it")
        #expect(seen.data.first?["reviewNotes"] is NSNull, "the reviewer's notes are the operators'")
        let shown = try await own.get("/v1/deliverables/\(delivered)")
        #expect(shown.status == .ok)
        #expect((shown.json["content"] as? String)?.isEmpty == false)
        #expect(try await own.get("/v1/deliverables/\(inReview)").status == .notFound)
        #expect(try await stranger.get("/v1/deliverables").data.isEmpty)
        #expect(try await stranger.get("/v1/deliverables/\(delivered)").status == .notFound)

        let ready = try await api.get("/v1/notifications?kind=deliverable-ready")
        #expect(ready.status == .ok)
        let readyEmail = ready.data.filter { $0["channel"] as? String == "email" }
        #expect(readyEmail.count == 1)
        #expect(readyEmail.first?["status"] as? String == "sent")
        #expect(readyEmail.first?["recipient"] as? String == "cto@acme.test")
        #expect((readyEmail.first?["providerId"] as? String)?.isEmpty == false)
        let alerts = try await api.get("/v1/notifications?kind=review-waiting&status=sent")
        #expect(alerts.data.count == 5 && alerts.data.allSatisfy { $0["recipient"] as? String == "operators" })
        #expect(try await own.get("/v1/notifications").status == .forbidden)
        #expect(try await api.get("/v1/notifications?status=lost").status == .badRequest)
    }

    @Test("a rejection with no other agent of the specialization online is refused with the reason; nothing changes")
    func rejectWithNobodyElse() throws {
        let seeded = try stack.seedRunningTask()
        try stack.db.query(
            "UPDATE tasks SET status = 'completed', completed_at = now(), result = 'v1' WHERE id = $1", [seeded.task])
        let opened = try stack.db.transaction { tx in
            try DeliverableStore.openVersions(completed: [seeded.task], messageID: "m1", in: tx)
        }
        let id = try #require(opened.first?.id)
        #expect {
            try self.stack.db.transaction { tx in
                try DeliverableStore.reject(
                    DeliverableRejection(id: id, notes: "wrong"), messageID: "m2", now: Date(), in: tx)
            }
        } throws: { error in
            (error as? CommandRejection)?.reason
                == "no other agent with specialization writer is online to do the work again; deliverable \(id) stays in review"
        }
        #expect(
            try stack.db.query("SELECT status FROM deliverables WHERE id = $1", [id]).first?.decode(
                "status", as: String.self) == "review")
        #expect(
            try stack.count(
                "SELECT a.total_tasks_failed FROM agents a JOIN tasks t ON t.assigned_agent_id = a.id WHERE t.id = $1",
                [seeded.task]) == 0)
    }
}

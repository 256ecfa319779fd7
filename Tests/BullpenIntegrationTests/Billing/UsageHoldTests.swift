import BullpenDomain
import BullpenSandbox
import BullpenStore
import Foundation
import PostgreSQL
import Testing

/// Plan usage through the operator API, with clients born from Stripe checkouts: a dispatch beyond the
/// period's allowance, or for a client past due or canceled, is refused with the reason unless overridden;
/// a delivered work counts once; a cancellation holds the client's queued dispatches.
@Suite("Usage holds", .serialized)
final class UsageHoldTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("usage") }
    deinit { fixture.tearDown() }

    /// Applies a history's events in order straight to the store; returns the project its checkout opened.
    func buy(_ history: String, email: String, upTo count: Int? = nil) throws -> (project: Int64, subscription: Int64) {
        let events = StripeHistories.make(history, catalog: TestEnvironment.plans, email: email, at: 1_764_000_000)!
        try apply(Array(events.prefix(count ?? events.count)).map(StripeIDs.body))
        let row = try #require(
            try stack.db.query(
                """
                SELECT p.id AS project, s.id AS subscription FROM projects p JOIN subscriptions s ON s.id = p.subscription_id
                  JOIN clients c ON c.id = s.client_id WHERE c.email = $1
                """, [email]
            ).first)
        return (try row.decode("project"), try row.decode("subscription"))
    }

    func apply(_ bodies: [[UInt8]]) throws { try stack.applyStripe(bodies) }

    func agent(_ api: APIClient, _ name: String) async throws -> Int64 {
        let id = try await api.create("/v1/agents", #"{"name": "\#(name)", "specialization": "writer"}"#, "agentId")
        try stack.db.query("UPDATE agents SET status = 'online', max_concurrent_tasks = 10 WHERE id = $1", [id])
        return id
    }

    @Test("Sprint: one deliverable a period; the second work held unless overridden; a delivered work counts once")
    func allowance() async throws {
        let (project, subscription) = try buy("sprint-once", email: "sprint@client.test")
        try await fixture.run { api in
            let agent = try await self.agent(api, "writer-usage")
            func task(_ title: String) async throws -> Int64 {
                try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "\#(title)"}"#, "taskId")
            }
            let first = try await task("First")
            let second = try await task("Second")
            let dispatched = try await api.command(.post, "/v1/tasks/\(first)/dispatch", #"{"agentId": \#(agent)}"#)
            #expect(dispatched["status"] as? String == "applied", "\(dispatched)")
            let held = try await api.command(.post, "/v1/tasks/\(second)/dispatch", #"{"agentId": \#(agent)}"#)
            #expect(held["status"] as? String == "rejected")
            #expect(
                held["error"] as? String
                    == "task \(second) is held: subscription \(subscription) (Sprint) includes 1 deliverable a period: "
                    + "0 delivered and 1 in progress; an operator may dispatch it with an override reason")
            #expect(try self.stack.taskStatus(second) == "pending", "a held task is left as it was")
            let overridden = try await api.command(
                .post, "/v1/tasks/\(second)/dispatch",
                #"{"agentId": \#(agent), "overrideReason": "goodwill: the client's launch"}"#)
            #expect(overridden["status"] as? String == "applied", "\(overridden)")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM events WHERE type = 'billing.hold_overridden' AND task_id = $1 AND message LIKE '%goodwill%'",
                    [second]) == 1)

            // The first work's version delivered, then a later version of it: counted once.
            try self.stack.db.query(
                "UPDATE tasks SET status = 'completed', result = 'copy', completed_at = now() WHERE id = $1", [first])
            for round in 1...2 {
                let version = try #require(
                    try self.stack.db.transaction { tx in
                        try DeliverableStore.openVersions(completed: [first], messageID: "v\(round)", in: tx)
                    }.first?.id)
                let delivered = try await api.command(.post, "/v1/deliverables/\(version)/deliver", "{}")
                #expect(delivered["status"] as? String == "applied", "\(delivered)")
            }
            #expect(
                try self.stack.count("SELECT deliverables_used FROM subscriptions WHERE id = $1", [subscription]) == 1)
            #expect(
                try self.stack.count("SELECT count(*) FROM usage_records WHERE subscription_id = $1", [subscription])
                    == 1)
        }
    }

    @Test("past due and canceled hold new work; a cancellation sends queued dispatches back to pending")
    func standing() async throws {
        // Pro: the checkout and its paid invoice, then the failed renewal (invoice, subscription past_due).
        let email = "pro@client.test"
        var account = StripeAccount(
            email: email, name: "Pro Client", plan: TestEnvironment.plans[.pro], at: 1_764_000_000)
        try apply(account.checkout(sessionID: "cs_test_usage_pro").map(StripeIDs.body))
        let failure = account.failPayment(attempts: 1, recovers: false).map(StripeIDs.body)
        let cancellation = account.cancel().map(StripeIDs.body)
        let (project, subscription) = try buy("sprint-once", email: "other@client.test")
        _ = project
        let pro = try #require(
            try stack.db.query(
                "SELECT p.id FROM projects p JOIN clients c ON c.id = p.client_id WHERE c.email = $1", [email]
            ).first?.decode("id", as: Int64.self))
        try await fixture.run { api in
            let agent = try await self.agent(api, "writer-standing")
            let queued = try await api.create("/v1/tasks", #"{"projectId": \#(pro), "title": "Queued"}"#, "taskId")
            let fresh = try await api.create("/v1/tasks", #"{"projectId": \#(pro), "title": "Fresh"}"#, "taskId")
            let first = try await api.command(.post, "/v1/tasks/\(queued)/dispatch", #"{"agentId": \#(agent)}"#)
            #expect(first["status"] as? String == "applied", "\(first)")
            #expect(try self.stack.taskStatus(queued) == "assigned")

            try self.apply(failure)
            let proSubscription = try #require(
                try self.stack.db.query(
                    "SELECT s.id FROM subscriptions s JOIN projects p ON p.subscription_id = s.id WHERE p.id = $1",
                    [pro]
                ).first?.decode("id", as: Int64.self))
            let pastDue = try await api.command(.post, "/v1/tasks/\(fresh)/dispatch", #"{"agentId": \#(agent)}"#)
            #expect(
                pastDue["error"] as? String
                    == "task \(fresh) is held: subscription \(proSubscription) (Pro) is past due: a payment failed and "
                    + "the client was asked to update it; an operator may dispatch it with an override reason")

            try self.apply(cancellation)
            #expect(try self.stack.taskStatus(queued) == "pending", "the queued dispatch is held")
            #expect(
                try self.stack.count("SELECT count(*) FROM events WHERE type = 'task.held' AND task_id = $1", [queued])
                    == 1)
            let canceled = try await api.command(.post, "/v1/tasks/\(queued)/dispatch", "{}")
            #expect((canceled["error"] as? String)?.contains("(Pro) is canceled") == true, "\(canceled)")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM subscriptions WHERE id = $1 AND status = 'active'", [subscription])
                    == 1, "another client's subscription is untouched")
        }
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Foundation
import HummingbirdTesting
import PostgreSQL
import Providers
import Testing

/// From a completed result to the client's email: the deliverable version in review, the operators told,
/// the operator's decision through the API, the delivery (visible, counted once, the project delivered),
/// and the client's email sent once.
@Suite("Deliverables and review", .serialized)
final class DeliverableTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("deliverable") }
    deinit { fixture.tearDown() }

    @Test(
        "a completed result opens version 1 in review and alerts the operators; deliver: visible, counted once, the project delivered, the client emailed once"
    )
    func reviewAndDeliver() async throws {
        try await SandboxNotify.withOutbound(logger: stack.logger) { outbound, notify, _ in
            let handlers = try Handlers.registry(notify: notify)
            let review = try self.stack.consumer(queue: .review, handlers: handlers)
            let notifier = try self.stack.consumer(queue: .notify, handlers: handlers)
            review.start()
            notifier.start()
            let relay = RelayLoop(stack: self.stack)
            defer {
                relay.stop()
                review.stop()
                notifier.stop()
            }
            let seeded = try self.stack.seedRunningTask()
            let (project, client): (Int64, Int64) = try {
                let row = try #require(
                    try self.stack.db.query(
                        "SELECT p.id, p.client_id FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = $1",
                        [seeded.task]
                    ).first)
                return (try row.decode("id"), try row.decode("client_id"))
            }()
            try self.stack.db.query(
                """
                INSERT INTO subscriptions (client_id, plan, status, price_amount_cents, period_start, response_time_hours)
                VALUES ($1, 'pro', 'active', 250000, now(), 24)
                """, [client])
            try self.stack.publishResult(taskID: seeded.task)
            #expect(
                try eventually {
                    try self.stack.count("SELECT count(*) FROM deliverables WHERE task_id = $1", [seeded.task]) == 1
                })
            let opened = try #require(
                try self.stack.db.query(
                    "SELECT id, status, version, content, client_visible FROM deliverables WHERE task_id = $1",
                    [seeded.task]
                ).first)
            let deliverable: Int64 = try opened.decode("id")
            #expect(try opened.decode("status", as: String.self) == "review")
            #expect(try opened.decode("version", as: Int.self) == 1)
            #expect(try opened.decode("content", as: String.self) == "out")
            #expect(try opened.decode("client_visible", as: Bool.self) == false)
            #expect(
                try eventually {
                    outbound.snapshot.emails.contains { $0.subject.hasPrefix("[Bullpen] Review waiting:") }
                }, "the operators are told a deliverable awaits review")

            try await self.fixture.run { api in
                let delivered = try await api.command(.post, "/v1/deliverables/\(deliverable)/deliver", "{}")
                #expect(delivered["status"] as? String == "applied", "\(delivered)")
                let again = try await api.command(.post, "/v1/deliverables/\(deliverable)/approve", "{}")
                #expect(again["status"] as? String == "rejected")
                #expect(
                    (again["error"] as? String)?.contains("a delivered deliverable cannot approve") == true, "\(again)")
            }
            let after = try #require(
                try self.stack.db.query(
                    "SELECT status, client_visible, delivered_at IS NOT NULL AS dated FROM deliverables WHERE id = $1",
                    [deliverable]
                ).first)
            #expect(try after.decode("status", as: String.self) == "delivered")
            #expect(try after.decode("client_visible", as: Bool.self))
            #expect(try after.decode("dated", as: Bool.self))
            #expect(
                try self.stack.count("SELECT deliverables_used FROM subscriptions WHERE client_id = $1", [client]) == 1)
            #expect(
                try self.stack.db.query("SELECT status FROM projects WHERE id = $1", [project]).first?.decode(
                    "status", as: String.self) == "delivered")
            let clientEmail: String = try #require(
                try self.stack.db.query("SELECT email FROM clients WHERE id = $1", [client]).first?.decode("email"))
            #expect(
                try eventually {
                    outbound.snapshot.emails.filter { $0.to == [clientEmail] }.count == 1
                })
            let ready = outbound.snapshot.emails.first { $0.to == [clientEmail] }
            #expect(ready?.subject == "Your deliverable is ready: Draft the launch announcement")
            #expect(ready?.text?.contains("/deliverables/\(deliverable)") == true)
        }
    }

    @Test("a revision's completed work is the next version of its parent's, linked to the version it replaces")
    func versions() throws {
        let seeded = try stack.seedRunningTask()
        try stack.db.query(
            "UPDATE tasks SET status = 'completed', completed_at = now(), result = 'v1' WHERE id = $1", [seeded.task])
        let first = try stack.db.transaction { tx in
            try DeliverableStore.openVersions(completed: [seeded.task], messageID: "m1", in: tx)
        }
        let revision: Int64 = try #require(
            try stack.db.query(
                """
                INSERT INTO tasks (title, status, project_id, parent_task_id, task_type, result, completed_at)
                SELECT 'Revise: ' || title, 'completed', project_id, id, 'revision', 'v2', now() FROM tasks WHERE id = $1
                RETURNING id
                """, [seeded.task]
            ).first?.decode("id"))
        let second = try stack.db.transaction { tx in
            try DeliverableStore.openVersions(completed: [revision], messageID: "m2", in: tx)
        }
        #expect(first.map(\.version) == [1])
        #expect(second.map(\.version) == [2])
        let link = try stack.db.query("SELECT previous_version_id FROM deliverables WHERE id = $1", [second[0].id])
            .first?.decode("previous_version_id", as: Int64?.self)
        #expect(link == first[0].id)
    }
}

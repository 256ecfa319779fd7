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

/// Notifications on the real services, through the Resend stand-in: written with their cause, sent once,
/// retried past rate limits and provider failures, parked when the provider refuses, and never sent twice.
@Suite("Notifications", .serialized)
final class NotifyTests: @unchecked Sendable {
    let stack: StackFixture

    init() throws {
        // Delay tiers of 1 s (four tries), so that retries happen within a test.
        stack = try StackFixture("notify") { spec in
            guard spec.name == WorkQueue.notify.rawValue else { return spec }
            var short = spec
            short.retryDelaysSeconds = [1, 1, 1]
            short.maxAttempts = 4
            return short
        }
    }
    deinit { stack.tearDown() }

    func handler(port: Int, operatorEmail: String? = "ops@agency.test") -> NotificationHandler {
        SandboxNotify.handler(port: port, operatorEmail: operatorEmail)
    }

    /// The Resend stand-in (live), a notify consumer and an outbox relay, for the length of `body`.
    func withNotify(
        operatorEmail: String? = "ops@agency.test",
        _ body: @escaping @Sendable (SandboxOutbound, NotificationHandler) async throws -> Void
    ) async throws {
        try await SandboxNotify.withOutbound(logger: stack.logger, operatorEmail: operatorEmail) {
            outbound, handler, _ in
            let consumer = try self.stack.consumer(
                queue: .notify, handlers: try Handlers.registry(notify: handler))
            consumer.start()
            let relay = RelayLoop(stack: self.stack)
            defer {
                relay.stop()
                consumer.stop()
            }
            try await body(outbound, handler)
        }
    }

    /// A task-failed alert for a seeded task, written as the review worker writes it.
    func alert(_ suffix: String = "1") throws -> (task: Int64, key: String) {
        let task = try stack.seedRunningTask().task
        let key = "task-failed:\(task):\(suffix):email"
        try stack.db.transaction { tx in
            try Notify.enqueue(
                .init(
                    key: key, kind: .taskFailed, channel: .email, taskID: task,
                    data: [
                        "taskId": String(task), "title": "Launch copy", "attempt": "1", "error": "the run timed out",
                    ]),
                in: tx)
        }
        return (task, key)
    }

    func row(_ key: String) throws -> NotificationStore.Row? {
        try NotificationStore.list(limit: 1000, in: stack.db).first { $0.key == key }
    }

    @Test("an operator alert is emailed once, with its rendered subject and the notification's key as idempotency key")
    func sentOnce() async throws {
        try await withNotify { outbound, _ in
            let (task, key) = try self.alert()
            #expect(try eventually { try self.row(key)?.status == "sent" })
            let sent = outbound.snapshot.emails
            #expect(sent.count == 1)
            #expect(sent.first?.to == ["ops@agency.test"])
            #expect(sent.first?.subject == "[Bullpen] Task failed: \(task) (Launch copy)")
            #expect(sent.first?.idempotencyKey == "bullpen-" + key)
            #expect(try self.row(key)?.providerID == sent.first?.id)
            // The same cause again writes nothing; the same message again sends nothing.
            try self.stack.db.transaction { tx in
                try Notify.enqueue(.init(key: key, kind: .taskFailed, channel: .email, data: [:]), in: tx)
            }
            let id = try #require(try self.row(key)?.id)
            try self.stack.broker.publish(NotificationMessage(notificationId: id, priority: 3))
            try await Task.sleep(for: .milliseconds(500))
            #expect(outbound.snapshot.emails.count == 1)
            #expect(try self.stack.count("SELECT count(*) FROM notifications WHERE key = $1", [key]) == 1)
        }
    }

    @Test(
        "in a batch, a message that is parked does not make the others call out again: each Slack message posted once (Slack has no idempotency key)"
    )
    func batchWithOneParked() async throws {
        try await SandboxNotify.withOutbound(logger: stack.logger) { outbound, handler, port in
            var faults = SandboxOutbound.Faults()
            faults.rejectEmails = true
            outbound.setFaults(faults)
            let task = try self.stack.seedRunningTask().task
            let data = ["taskId": String(task), "title": "Launch copy", "attempt": "1", "error": "boom"]
            // Two Slack messages, the email the provider refuses (parked), two more Slack messages: one batch.
            let drafts: [NotificationStore.New] =
                (1...2).map { i in
                    .init(
                        key: "batch-slack-\(i)", kind: .taskFailed, channel: .slack,
                        recipient: "http://127.0.0.1:\(port)/slack/hook", taskID: task, data: data)
                } + [.init(key: "batch-email", kind: .taskFailed, channel: .email, taskID: task, data: data)]
                + (3...4).map { i in
                    .init(
                        key: "batch-slack-\(i)", kind: .taskFailed, channel: .slack,
                        recipient: "http://127.0.0.1:\(port)/slack/hook", taskID: task, data: data)
                }
            let ids = try self.stack.db.transaction { tx in try NotificationStore.insert(drafts, in: tx) }
            for id in ids { try self.stack.broker.publish(NotificationMessage(notificationId: id, priority: 3)) }
            let consumer = try self.stack.consumer(
                queue: .notify, batchSize: 10, prefetch: 10, handlers: try Handlers.registry(notify: handler))
            consumer.start()
            defer { consumer.stop() }
            #expect(try eventually { try self.row("batch-email")?.status == "parked" })
            #expect(try eventually { try (1...4).allSatisfy { try self.row("batch-slack-\($0)")?.status == "sent" } })
            #expect(outbound.snapshot.slack.count == 4, "\(outbound.snapshot.slack.count) Slack posts for 4 messages")
        }
    }

    @Test(
        "two copies of one message at two consumers at once (an outbox relay that published twice): one Slack post, the copy tried later and found applied"
    )
    func twoCopiesAtOnce() async throws {
        try await SandboxNotify.withOutbound(logger: stack.logger) { outbound, handler, port in
            var faults = SandboxOutbound.Faults()
            faults.slowMs = 1500
            outbound.setFaults(faults)
            let task = try self.stack.seedRunningTask().task
            let draft = NotificationStore.New(
                key: "twice-slack", kind: .taskFailed, channel: .slack,
                recipient: "http://127.0.0.1:\(port)/slack/hook", taskID: task,
                data: ["taskId": String(task), "title": "Launch copy", "attempt": "1", "error": "boom"])
            let id = try self.stack.db.transaction { tx in try NotificationStore.insert([draft], in: tx) }[0]
            let consumers = try (1...2).map { _ in
                try self.stack.consumer(
                    queue: .notify, batchSize: 1, prefetch: 1, handlers: try Handlers.registry(notify: handler))
            }
            for consumer in consumers { consumer.start() }
            defer { for consumer in consumers { consumer.stop() } }
            for _ in 1...2 { try self.stack.broker.publish(NotificationMessage(notificationId: id, priority: 3)) }
            #expect(try eventually { try self.row("twice-slack")?.status == "sent" })
            // The copy was tried again later (not parked), and came back to find the inbox row.
            try await Task.sleep(for: .seconds(4))
            #expect(try self.stack.count("SELECT count(*) FROM dead_letters WHERE queue = 'notify'") == 0)
            #expect(try self.stack.broker.depth(self.stack.topology.workQueue(.notify)) == 0)
            #expect(outbound.snapshot.slack.count == 1, "\(outbound.snapshot.slack.count) Slack posts for one message")
        }
    }

    @Test("429 with Retry-After, then 500, then 200: retried through the tiers and sent exactly once")
    func rateLimitedThenFailing() async throws {
        try await withNotify { outbound, _ in
            var faults = SandboxOutbound.Faults()
            faults.rateLimitNext = 1
            faults.retryAfterSeconds = 1
            faults.failNext = 1
            outbound.setFaults(faults)
            let (_, key) = try self.alert()
            #expect(try eventually(timeout: .seconds(20)) { try self.row(key)?.status == "sent" })
            #expect(outbound.snapshot.requests == 3)
            #expect(outbound.snapshot.emails.count == 1)
        }
    }

    @Test("a refusal retrying cannot fix (422) is parked at once with the provider's message; nothing is sent")
    func rejected() async throws {
        try await withNotify { outbound, _ in
            var faults = SandboxOutbound.Faults()
            faults.rejectEmails = true
            outbound.setFaults(faults)
            let (_, key) = try self.alert()
            #expect(try eventually { try self.row(key)?.status == "parked" })
            #expect(try self.row(key)?.lastError == "Resend 422 validation_error: The `to` address is not allowed.")
            #expect(outbound.snapshot.requests == 1, "not retried")
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM dead_letters WHERE queue = 'notify' AND message_type = 'notification.send'")
                    == 1)
        }
    }

    @Test("the provider down past the tiers: parked, and after a replay sent once")
    func downThenReplayed() async throws {
        try await withNotify { outbound, _ in
            var faults = SandboxOutbound.Faults()
            faults.failNext = 4
            outbound.setFaults(faults)
            let (_, key) = try self.alert()
            #expect(try eventually(timeout: .seconds(20)) { try self.row(key)?.status == "parked" })
            #expect(outbound.snapshot.emails.isEmpty)
            // The provider is back; the operator replays the dead letter: the notification is sent, once.
            let parked: Int64 = try #require(
                try self.stack.db.query("SELECT id FROM dead_letters WHERE queue = 'notify'").first?.decode("id"))
            try self.stack.db.transaction { tx in _ = try DeadLetters.replay(ids: [parked], in: tx) }
            #expect(try eventually(timeout: .seconds(10)) { try self.row(key)?.status == "sent" })
            #expect(outbound.snapshot.emails.count == 1)
        }
    }

    @Test("a send repeated after the provider accepted but before the commit (a crash) sends no second email")
    func crashAfterAccepted() async throws {
        let outbound = SandboxOutbound(configuration: .init(port: 0), logger: stack.logger)
        try await outbound.application().test(.live) { app in
            let handler = self.handler(port: try #require(app.port))
            let (_, key) = try self.alert()
            let id = try #require(try self.row(key)?.id)
            let message = NotificationMessage(notificationId: id, priority: 3)
            // The first send reaches the provider; its transaction never commits (the worker died).
            struct Crash: Error {}
            #expect(throws: Crash.self) {
                try self.stack.db.transaction { tx in
                    _ = try handler.handle(message, try self.stack.inbound(message), in: tx)
                    throw Crash()
                }
            }
            #expect(try self.row(key)?.status == "pending")
            #expect(outbound.snapshot.emails.count == 1)
            // Redelivered: sent again under the same idempotency key; the provider answers as the first time.
            let again = try self.stack.db.transaction { tx in
                try handler.handle(message, try self.stack.inbound(message), in: tx)
            }
            #expect(again == .applied)
            #expect(try self.row(key)?.status == "sent")
            #expect(outbound.snapshot.emails.count == 1, "no second email")
            #expect(outbound.snapshot.requests == 2)
        }
    }

    @Test(
        "an alert goes where its kind's route says: by email and to the operators' Slack and Discord, each once; a route without email skips the email"
    )
    func routed() async throws {
        try AlertRouteStore.apply(
            AlertRoutes(routes: [.taskFailed: [.email, .slack, .discord], .reviewWaiting: [.slack]]), on: stack.db)
        defer { try? AlertRouteStore.apply(AlertRoutes(), on: stack.db) }
        try await withNotify { outbound, _ in
            let (task, key) = try self.alert()
            let base = String(key.dropLast("email".count))
            #expect(
                try eventually {
                    try ["email", "slack", "discord"].allSatisfy { try self.row(base + $0)?.status == "sent" }
                })
            #expect(outbound.snapshot.emails.count == 1)
            #expect(outbound.snapshot.slack.count == 1 && outbound.snapshot.slack.first?.contains("\(task)") == true)
            #expect(outbound.snapshot.discord.count == 1)
            // Sent again (a redelivery of the email's message): no copy twice.
            let id = try #require(try self.row(key)?.id)
            try self.stack.broker.publish(NotificationMessage(notificationId: id, priority: 3))
            try await Task.sleep(for: .milliseconds(500))
            #expect(outbound.snapshot.slack.count == 1 && outbound.snapshot.discord.count == 1)
            // A route without email: the email is skipped, saying why; Slack has it.
            let waiting = "review-waiting:v\(task):email"
            try self.stack.db.transaction { tx in
                try Notify.enqueue(
                    .init(
                        key: waiting, kind: .reviewWaiting, channel: .email, taskID: task,
                        data: ["deliverableId": "1", "title": "Launch copy", "version": "1", "taskId": String(task)]),
                    in: tx)
            }
            #expect(try eventually { try self.row("review-waiting:v\(task):slack")?.status == "sent" })
            #expect(try self.row(waiting)?.status == "skipped")
            #expect(try self.row(waiting)?.lastError == "its route sends it elsewhere")
            #expect(outbound.snapshot.emails.count == 1)
        }
    }

    @Test("an operator alert with no operator address configured is skipped, with the reason")
    func noOperatorAddress() async throws {
        try await withNotify(operatorEmail: nil) { outbound, _ in
            let (_, key) = try self.alert()
            #expect(try eventually { try self.row(key)?.status == "skipped" })
            #expect(try self.row(key)?.lastError == "no operator address is configured for email")
            #expect(outbound.snapshot.requests == 0)
        }
    }
}

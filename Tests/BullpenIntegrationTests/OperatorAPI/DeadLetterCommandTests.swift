import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import Testing

/// Parked messages through the operator API: the keeper drains the broker's dead-letter queues into the
/// table, the list and show routes read it, and replay and purge are commands applied by the command worker
/// (a replay leaves through the outbox).
@Suite("Dead letters through the operator API", .serialized)
final class DeadLetterCommandTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("dlq") }
    deinit { fixture.tearDown() }

    func keeper() -> DeadLetterKeeper {
        DeadLetterKeeper(
            amqp: try! TestEnvironment.amqp(), postgres: stack.database.configuration, topology: stack.topology,
            logger: stack.logger)
    }

    /// Publishes what the outbox holds, once.
    func relayOutbox() throws {
        let publisher = ConfirmingPublisher(configuration: try TestEnvironment.amqp(), logger: stack.logger)
        publisher.start()
        defer { publisher.shutdown() }
        let relay = OutboxRelay(
            postgres: stack.database.configuration, topology: stack.topology, publisher: publisher,
            metrics: WorkerMetrics(), logger: stack.logger)
        while try relay.relayOnce(stack.db) > 0 {}
    }

    func parkTwoResults() throws -> (Int64, Int64) {
        var tasks: [Int64] = []
        for _ in 0..<2 {
            let (task, _) = try stack.seedRunningTask()
            try stack.db.query("UPDATE tasks SET status = 'assigned' WHERE id = $1", [task])
            tasks.append(task)
        }
        let consumer = try stack.consumer()
        consumer.start()
        defer { consumer.stop() }
        for task in tasks { try stack.publishResult(taskID: task) }
        #expect(eventually { consumer.statistics.parked == 2 })
        return (tasks[0], tasks[1])
    }

    @Test("list and show, replay once after a fix, a second replay changes nothing, purge a queue")
    func replayAndPurge() async throws {
        let (task, other) = try parkTwoResults()
        let deadQueue = stack.topology.deadQueue(.review)
        #expect(try eventually { try stack.broker.depth(deadQueue) == 2 })
        // The worker's parked copies are already rows: the keeper only empties the broker's queue.
        #expect(try keeper().keepOnce(broker: stack.broker.admin, db: stack.db) == 2)
        #expect(try stack.broker.depth(deadQueue) == 0)
        #expect(try stack.count("SELECT count(*) FROM dead_letters WHERE status = 'parked'") == 2)

        try await fixture.run { api in
            let listed = try await api.get("/v1/dead-letters?queue=review").data
            #expect(
                listed.compactMap { $0["messageId"] as? String } == ["task-result:\(task):1", "task-result:\(other):1"])
            let first = try #require(listed.first?["id"] as? Int)
            let second = try #require(listed.last?["id"] as? Int)
            let shown = try await api.get("/v1/dead-letters/\(first)").json
            #expect(shown["reason"] as? String == "task \(task) is assigned, not running; its result cannot apply")
            let body = try #require((shown["body"] as? String).flatMap { Data(base64Encoded: $0) })
            #expect(String(decoding: body, as: UTF8.self).contains("\"taskId\":\(task)"))

            // The operator fixes the task, then replays its message: it applies once.
            try self.stack.db.query("UPDATE tasks SET status = 'running' WHERE id = $1", [task])
            let replay = try await api.command(.post, "/v1/dead-letters/replay", #"{"ids": [\#(first)]}"#)
            #expect(replay["status"] as? String == "applied")
            #expect(replay["result"] as? [String: [Int]] == ["replayed": [first], "notParked": []])
            #expect(try self.stack.reviewDepth() == 0, "nothing is published before the outbox relay runs")
            try self.relayOutbox()
            let consumer = try self.stack.consumer()
            consumer.start()
            defer { consumer.stop() }
            #expect(try eventually { try self.stack.taskStatus(task) == "completed" })

            let again = try await api.command(.post, "/v1/dead-letters/replay", #"{"ids": [\#(first)]}"#)
            #expect(again["result"] as? [String: [Int]] == ["replayed": [], "notParked": [first]])
            try self.relayOutbox()
            #expect(try self.stack.count("SELECT count(*) FROM outbox WHERE dead_letter_id IS NOT NULL") == 1)
            #expect(
                try self.stack.count(
                    "SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.completed'", [task]) == 1)

            let purge = try await api.command(.post, "/v1/dead-letters/purge", #"{"queue": "review"}"#)
            #expect(purge["result"] as? [String: [Int]] == ["purged": [second], "notParked": []])
            #expect(try await api.get("/v1/dead-letters?queue=review").data.isEmpty)
            #expect(try await api.get("/v1/dead-letters/\(second)").json["status"] as? String == "purged")
            #expect(try self.stack.taskStatus(other) == "assigned")
        }
    }

    @Test("a message the broker dead-letters by itself is recorded with the broker's reason")
    func brokerDeadLettered() async throws {
        let message = TestFollowUp(id: "rejected-by-hand")
        try stack.broker.publish(message)
        let admin = stack.broker.admin
        let delivery = try #require(try admin.get(queue: stack.topology.workQueue(.notify), channel: 1))
        try admin.reject(deliveryTag: delivery.deliveryTag, requeue: false, channel: 1)
        #expect(try eventually { try stack.broker.depth(stack.topology.deadQueue(.notify)) == 1 })
        #expect(try keeper().keepOnce(broker: admin, db: stack.db) == 1)
        // A second pass finds nothing: the message is taken once.
        #expect(try keeper().keepOnce(broker: admin, db: stack.db) == 0)

        try await fixture.run { api in
            let listed = try await api.get("/v1/dead-letters?queue=notify").data
            #expect(listed.count == 1)
            #expect(listed.first?["messageId"] as? String == message.messageID)
            #expect((listed.first?["reason"] as? String)?.hasPrefix("dead-lettered by the broker (rejected)") == true)
        }
    }

    @Test("replay and purge refuse what they cannot do, and publish nothing")
    func refusals() async throws {
        try await fixture.run { api in
            let unknown = try await api.request(.post, "/v1/dead-letters/replay", json: #"{"ids": [424242]}"#)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.code == "unknown_reference")
            #expect(unknown.error["field"] as? String == "ids")
            for (body, field) in [
                (#"{"ids": []}"#, "ids"), (#"{"ids": [1, 1]}"#, "ids"), (#"{"ids": [0]}"#, "ids"),
                (#"{"ids": [1], "queue": "review"}"#, ""), ("{}", ""), (#"{"queue": "nowhere"}"#, "queue"),
            ] {
                let answer = try await api.request(.post, "/v1/dead-letters/purge", json: body)
                #expect(answer.status == .badRequest, "\(body): \(answer.json)")
                #expect(answer.error["field"] as? String ?? "" == field, "\(body): \(answer.json)")
            }
            #expect(try self.fixture.commandQueueDepth() == 0)
            #expect(try self.stack.count("SELECT count(*) FROM commands") == 0)
        }
    }
}

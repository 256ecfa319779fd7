import AMQP
import BullpenMessaging
import Foundation
import Testing

@Suite("Dead-letter operations")
final class DeadLetterAdminTests {
    let fixture: StackFixture

    init() throws { fixture = try StackFixture("dlq") }
    deinit { fixture.tearDown() }

    func dlq() throws -> DeadLetterAdmin {
        try DeadLetterAdmin(
            topology: fixture.topology, queue: .review, connection: fixture.broker.admin, db: fixture.db)
    }

    @Test("list, show, replay once after a fix, then purge")
    func lifecycle() throws {
        let (task, _) = try fixture.seedRunningTask()
        try fixture.db.query("UPDATE tasks SET status = 'assigned' WHERE id = $1", [task])
        let (other, _) = try fixture.seedRunningTask()
        try fixture.db.query("UPDATE tasks SET status = 'assigned' WHERE id = $1", [other])
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: task)
        try fixture.publishResult(taskID: other)
        #expect(eventually { consumer.statistics.parked == 2 })
        #expect(try eventually { try dlq().depth() == 2 })

        let listed = try dlq().list()
        #expect(listed.map(\.messageID) == ["task-result:\(task):1", "task-result:\(other):1"])
        let first = try #require(listed.first)
        let shown = try #require(try dlq().show(id: first.id))
        #expect(shown.reason == "task \(task) is assigned, not running; its result cannot apply")
        #expect(String(decoding: shown.body, as: UTF8.self).contains("\"taskId\":\(task)"))

        // The operator fixes the task, then replays its message: it applies once.
        try fixture.db.query("UPDATE tasks SET status = 'running' WHERE id = $1", [task])
        let report = try dlq().replay(ids: [first.id])
        #expect(report.replayed == [first.id])
        #expect(try eventually { try fixture.taskStatus(task) == "completed" })
        #expect(try dlq().depth() == 1)
        #expect(try dlq().list().map(\.messageID) == ["task-result:\(other):1"])

        let again = try dlq().replay(ids: [first.id])
        #expect(again.replayed.isEmpty)
        #expect(again.notParked == [first.id])
        #expect(try fixture.count("SELECT count(*) FROM events WHERE task_id = $1", [task]) == 1)

        let (messages, rows) = try dlq().purge()
        #expect(messages == 1)
        #expect(rows == 1)
        #expect(try dlq().list().isEmpty)
        #expect(try dlq().depth() == 0)
    }
}

import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import PostgreSQL
import Testing

/// The review worker on the real broker and database: effect, inbox, events; duplicates; parking.
@Suite("Review worker")
final class ReviewWorkerTests {
    let fixture: StackFixture

    init() throws { fixture = try StackFixture("review") }
    deinit { fixture.tearDown() }

    @Test("a result completes the running task in one transaction with its events and inbox rows, then is acked")
    func applies() throws {
        let (task, _) = try fixture.seedRunningTask()
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: task)
        #expect(try eventually { try fixture.taskStatus(task) == "completed" })
        #expect(
            try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.completed'", [task]) == 1
        )
        let data: String = try #require(
            try fixture.db.query("SELECT data::text AS data FROM events WHERE task_id = $1", [task]).first
        ).decode("data")
        #expect(data == #"{"attempt": 1, "outputBytes": 3}"#)
        #expect(try fixture.count("SELECT count(*) FROM inbox WHERE message_id = $1", ["task-result:\(task):1"]) == 1)
        #expect(
            try fixture.count("SELECT count(*) FROM task_attempts WHERE task_id = $1 AND outcome = 'completed'", [task])
                == 1)
        #expect(eventually { consumer.statistics.acked == 1 })
        #expect(try fixture.reviewDepth() == 0)
    }

    @Test("a failed result fails the attempt: with retries left the task waits for a new one, without it fails")
    func fails() throws {
        let (task, _) = try fixture.seedRunningTask()
        let (last, _) = try fixture.seedRunningTask()
        try fixture.db.query("UPDATE tasks SET max_retries = 0 WHERE id = $1", [last])
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: task, status: .failed)
        try fixture.publishResult(taskID: last, status: .failed)
        #expect(try eventually { try fixture.taskStatus(last) == "failed" })
        #expect(try eventually { try fixture.taskStatus(task) == "assigned" })
        #expect(try fixture.count("SELECT retry_count FROM tasks WHERE id = $1", [task]) == 1)
        #expect(
            try fixture.count("SELECT count(*) FROM tasks WHERE id = $1 AND dispatch_requested_at IS NOT NULL", [task])
                == 1)
        #expect(
            try fixture.count("SELECT count(*) FROM outbox WHERE message_id LIKE $1", ["dispatch:\(task):retry:%"]) == 1
        )
        for id in [task, last] {
            #expect(
                try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.failed'", [id]) == 1)
        }
        #expect(
            try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.retrying'", [task]) == 1)
    }

    @Test("a closed attempt writes its time entry and updates its agent's statistics, in the result's transaction")
    func statistics() throws {
        let (done, _) = try fixture.seedRunningTask()
        let (broken, _) = try fixture.seedRunningTask()
        let agent: Int64 = try fixture.db.query("SELECT assigned_agent_id FROM tasks WHERE id = $1", [done]).first!
            .decode("assigned_agent_id")
        // Both attempts on one agent, opened two seconds ago; the broken task has no retries left.
        try fixture.db.query(
            "UPDATE tasks SET assigned_agent_id = $1, max_retries = 0 WHERE id = ANY($2::bigint[])",
            [agent, PGArray([done, broken].map(String.init))])
        try fixture.db.query(
            "UPDATE task_attempts SET agent_id = $1, opened_at = now() - interval '2 seconds' WHERE task_id = ANY($2::bigint[])",
            [agent, PGArray([done, broken].map(String.init))])
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: done)
        try fixture.publishResult(taskID: broken, status: .failed)
        #expect(
            try eventually { try fixture.taskStatus(broken) == "failed" && fixture.taskStatus(done) == "completed" })
        let row = try #require(
            try fixture.db.query(
                "SELECT total_tasks_completed, total_tasks_failed, failure_rate, avg_completion_time_ms FROM agents WHERE id = $1",
                [agent]
            ).first)
        #expect(try row.decode("total_tasks_completed", as: Int.self) == 1)
        #expect(try row.decode("total_tasks_failed", as: Int.self) == 1)
        #expect(try row.decode("failure_rate", as: Double.self) == 0.5)
        #expect((1900...10_000).contains(try row.decode("avg_completion_time_ms", as: Int64.self)))
        #expect(
            try fixture.count(
                "SELECT count(*) FROM time_entries WHERE agent_id = $1 AND type = 'agent_execution' AND duration_ms >= 1900",
                [agent]) == 2)
    }

    @Test("a second delivery of the same message changes nothing and is acked")
    func duplicate() throws {
        let (task, _) = try fixture.seedRunningTask()
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: task)
        try fixture.publishResult(taskID: task)
        #expect(eventually { consumer.statistics.acked == 2 })
        #expect(consumer.statistics.duplicates == 1)
        #expect(
            try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.completed'", [task]) == 1
        )
        #expect(try fixture.count("SELECT count(*) FROM deliverables WHERE task_id = $1", [task]) == 1)
        #expect(try fixture.count("SELECT count(*) FROM notifications WHERE task_id = $1", [task]) == 1)
        #expect(try fixture.count("SELECT count(*) FROM dead_letters") == 0)
        #expect(try fixture.reviewDepth() == 0)
    }

    @Test("a body that does not decode is parked with its reason, not requeued")
    func poison() throws {
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: 1, body: Array("{not json".utf8))
        #expect(eventually { consumer.statistics.parked == 1 })
        let reason: String = try #require(try fixture.db.query("SELECT reason FROM dead_letters").first).decode(
            "reason")
        #expect(reason.contains("does not decode"))
        #expect(eventually { (try? self.fixture.broker.depth(self.fixture.topology.deadQueue(.review))) == 1 })
        #expect(try fixture.count("SELECT count(*) FROM inbox") == 0)
    }

    @Test("a result for a task that is not running is parked with the reason")
    func notRunning() throws {
        let (task, _) = try fixture.seedRunningTask()
        try fixture.db.query("UPDATE tasks SET status = 'completed', completed_at = now() WHERE id = $1", [task])
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.publishResult(taskID: task)
        #expect(eventually { consumer.statistics.parked == 1 })
        let reason: String = try #require(try fixture.db.query("SELECT reason FROM dead_letters").first).decode(
            "reason")
        #expect(reason == "task \(task) is completed, not running; its result cannot apply")
        #expect(try fixture.count("SELECT count(*) FROM events WHERE task_id = $1", [task]) == 0)
    }

    @Test("a stop waits for in-flight work and leaves the rest on the queue")
    func gracefulStop() throws {
        var tasks: [Int64] = []
        for _ in 0..<20 { tasks.append(try fixture.seedRunningTask().task) }
        for task in tasks { try fixture.publishResult(taskID: task) }
        let consumer = try fixture.consumer(prefetch: 1)
        consumer.start()
        #expect(eventually { consumer.statistics.acked >= 3 })
        consumer.stop()
        let acked = consumer.statistics.acked
        let completed = try fixture.count("SELECT count(*) FROM tasks WHERE status = 'completed'")
        // Everything acked was committed, and nothing committed is left unacked on the queue.
        #expect(completed == acked)
        #expect(try eventually { try fixture.reviewDepth() == 20 - acked })
    }

    @Test("batched: results apply in one statement; one that cannot apply is parked and the rest commit")
    func batched() throws {
        var tasks: [Int64] = []
        for _ in 0..<12 { tasks.append(try fixture.seedRunningTask().task) }
        try fixture.db.query("UPDATE tasks SET status = 'completed', completed_at = now() WHERE id = $1", [tasks[5]])
        for task in tasks { try fixture.publishResult(taskID: task) }
        try fixture.publishResult(taskID: tasks[0])  // a duplicate in the same backlog
        #expect(try eventually { try fixture.reviewDepth() == 13 })
        let consumer = try fixture.consumer(batchSize: 20)
        consumer.start()
        defer { consumer.stop() }
        #expect(eventually { consumer.statistics.acked + consumer.statistics.parked == 13 })
        #expect(consumer.statistics.parked == 1)
        #expect(consumer.statistics.duplicates == 1)
        #expect(try fixture.count("SELECT count(*) FROM events WHERE type = 'task.completed'") == 11)
        #expect(try fixture.count("SELECT count(*) FROM tasks WHERE status = 'completed'") == 12)
        #expect(try fixture.count("SELECT count(*) FROM task_attempts WHERE outcome = 'completed'") == 11)
        let reason: String = try #require(try fixture.db.query("SELECT reason FROM dead_letters").first).decode(
            "reason")
        #expect(reason == "task \(tasks[5]) is completed, not running; its result cannot apply")
        #expect(try eventually { try fixture.reviewDepth() == 0 })
    }
}

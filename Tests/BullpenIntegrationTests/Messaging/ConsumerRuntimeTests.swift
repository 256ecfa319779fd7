import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import Testing

/// The consumer runtime with test handlers on the real broker and database: priorities, retry tiers,
/// batching, parking, the outbox relay and the scheduler.
@Suite("Consumer runtime")
final class ConsumerRuntimeTests: @unchecked Sendable {
    let fixture: StackFixture
    let topology: Topology

    init() throws {
        // Short tiers so a test can watch retries happen.
        fixture = try StackFixture("runtime") { spec in
            var copy = spec
            copy.retryDelaysSeconds = [1, 2]
            copy.maxAttempts = 3
            return copy
        }
        try fixture.db.execute(TestLog.createTable)
        topology = fixture.topology
    }

    deinit { fixture.tearDown() }

    var handlers: HandlerRegistry {
        get throws { try HandlerRegistry([RecordHandler(), FlakyHandler(), FollowUpHandler()]) }
    }

    func publish(_ id: String, note: String = "ok", priority: UInt8 = 1) throws {
        try fixture.broker.publish(TestRecord(id: id, note: note), priority: priority)
    }

    func consumer(batchSize: Int = 1, prefetch: UInt16? = nil) throws -> QueueConsumer {
        try fixture.consumer(queue: .notify, batchSize: batchSize, prefetch: prefetch, handlers: try handlers)
    }

    func log() throws -> [(id: String, attempt: Int, priority: Int)] {
        try fixture.db.query("SELECT message_id, attempt, priority FROM test_log ORDER BY seq").rows.map {
            (try $0.decode("message_id"), try $0.decode("attempt"), try $0.decode("priority"))
        }
    }

    @Test("with a backlog, priority 5 messages are handled before priority 1")
    func priorities() throws {
        var expected: [Int] = []
        for i in 0..<30 {
            let p = UInt8([1, 5, 3, 1, 5, 2][i % 6])
            try publish("p\(i)", priority: p)
            expected.append(Int(p))
        }
        #expect(try eventually { try fixture.broker.depth(topology.workQueue(.notify)) == 30 })
        let consumer = try consumer()
        consumer.start()
        defer { consumer.stop() }
        #expect(try eventually { try log().count == 30 })
        // The whole backlog waits before the consumer starts, and prefetch is 1: the broker hands out the
        // highest priority waiting every time.
        let applied = try log().map(\.priority)
        #expect(applied == expected.sorted(by: >), "applied in order \(applied)")
    }

    @Test("a message that fails twice is applied at its third attempt, after the tiers' delays")
    func retryTiers() throws {
        let consumer = try consumer()
        consumer.start()
        defer { consumer.stop() }
        let started = ContinuousClock.now
        try fixture.broker.publish(TestFlaky(id: "flaky-1", succeedAt: 3))
        #expect(try eventually(timeout: .seconds(15)) { try log().count == 1 })
        let elapsed = ContinuousClock.now - started
        #expect(try log().first?.attempt == 3)
        #expect(elapsed >= .seconds(3), "tier 1 (1 s) then tier 2 (2 s), took \(elapsed)")
        #expect(consumer.statistics.retried == 2)
        #expect(try fixture.count("SELECT count(*) FROM dead_letters") == 0)
    }

    @Test("a message that keeps failing is parked after its last attempt, with the reason")
    func giveUp() throws {
        let consumer = try consumer()
        consumer.start()
        defer { consumer.stop() }
        try fixture.broker.publish(TestFlaky(id: "flaky-never", succeedAt: 99))
        #expect(try eventually(timeout: .seconds(15)) { try fixture.count("SELECT count(*) FROM dead_letters") == 1 })
        let row = try #require(try DeadLetters.parked(queue: .notify, on: fixture.db).first)
        #expect(row.reason == "gave up after 3 attempts: flaky: attempt 3")
        #expect(row.attempts == 3)
        #expect(try eventually { try fixture.broker.depth(topology.deadQueue(.notify)) == 1 })
        let parked = try #require(try fixture.broker.admin.get(queue: topology.deadQueue(.notify)))
        #expect(parked.properties.headers[MessageHeader.reason] == .string(row.reason))
        try fixture.broker.admin.reject(deliveryTag: parked.deliveryTag, requeue: true, channel: 1)
        #expect(try log().isEmpty)
    }

    @Test("in a batch, one failing message does not poison the others")
    func batchIsolation() throws {
        for i in 0..<9 { try publish("b\(i)", note: i == 4 ? "poison" : "ok") }
        #expect(try eventually { try fixture.broker.depth(topology.workQueue(.notify)) == 9 })
        let consumer = try consumer(batchSize: 10)
        consumer.start()
        defer { consumer.stop() }
        #expect(eventually { consumer.statistics.acked + consumer.statistics.parked == 9 })
        #expect(try Set(log().map(\.id)) == Set((0..<9).filter { $0 != 4 }.map { "b\($0)" }))
        #expect(consumer.statistics.parked == 1)
        #expect(try fixture.count("SELECT count(*) FROM inbox") == 8)
        #expect(try DeadLetters.parked(queue: .notify, on: fixture.db).map(\.messageID) == ["b4"])
    }

    @Test("a batch applies duplicates once")
    func batchDuplicates() throws {
        for i in 0..<6 { try publish("d\(i % 3)") }
        #expect(try eventually { try fixture.broker.depth(topology.workQueue(.notify)) == 6 })
        let consumer = try consumer(batchSize: 6)
        consumer.start()
        defer { consumer.stop() }
        #expect(eventually { consumer.statistics.acked == 6 })
        #expect(consumer.statistics.duplicates == 3)
        #expect(try log().count == 3)
    }

    @Test("the outbox relay publishes committed rows once, even with two relays")
    func outboxRelay() throws {
        let consumer = try consumer()
        consumer.start()
        // 300 messages whose handler writes a follow-up to the outbox; the follow-ups go to notify as test.record.
        for i in 0..<300 { try fixture.broker.publish(TestFollowUp(id: "o\(i)")) }
        #expect(try eventually(timeout: .seconds(30)) { try fixture.count("SELECT count(*) FROM outbox") == 300 })
        consumer.stop()

        let metrics = WorkerMetrics()
        let publisher = ConfirmingPublisher(configuration: try TestEnvironment.amqp(), logger: fixture.logger)
        publisher.start()
        defer { publisher.shutdown() }
        let relays = (0..<2).map { _ in
            OutboxRelay(
                configuration: .init(batchSize: 20), postgres: fixture.database.configuration, topology: topology,
                publisher: publisher, metrics: metrics, logger: fixture.logger)
        }
        let group = DispatchGroup()
        let counts = Counts()
        for relay in relays {
            DispatchQueue.global().async(group: group) {
                guard let db = try? PGConnection(self.fixture.database.configuration) else { return }
                defer { db.close() }
                while let n = try? relay.relayOnce(db), n > 0 { counts.add(n) }
            }
        }
        group.wait()
        #expect(counts.total == 300)
        #expect(try fixture.count("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0)
        #expect(try eventually { try fixture.broker.depth(topology.workQueue(.notify)) == 300 })
        #expect(try Outbox.lagSeconds(on: fixture.db) == 0)
    }

    @Test("the consumer's counts reach /metrics")
    func metrics() throws {
        let metrics = WorkerMetrics()
        let consumer = QueueConsumer(
            queue: .notify, name: "metrics", topology: topology, amqp: try TestEnvironment.amqp(),
            postgres: fixture.database.configuration, handlers: try handlers, metrics: metrics, logger: fixture.logger)
        consumer.start()
        defer { consumer.stop() }
        try publish("m1")
        try publish("m1")
        #expect(eventually { consumer.statistics.acked == 2 })
        let text = metrics.render()
        #expect(text.contains(#"bullpen_messages_consumed_total{queue="notify"} 2"#))
        #expect(text.contains(#"bullpen_messages_acked_total{queue="notify"} 2"#))
        #expect(text.contains(#"bullpen_messages_duplicate_total{queue="notify"} 1"#))
        #expect(text.contains(#"bullpen_handler_duration_seconds_count{queue="notify"} 2"#))
    }
}

final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add(_ n: Int) { lock.withLock { value += n } }
    var total: Int { lock.withLock { value } }
}

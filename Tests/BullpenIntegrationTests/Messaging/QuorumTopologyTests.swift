import AMQP
import BullpenDomain
import BullpenIngest
import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import Testing

/// A test message with a priority of its own, on the notify queue (which has priorities).
struct TestUrgent: BullpenMessage {
    static let name = "test.urgent"
    static let queue = WorkQueue.notify
    static let schemaVersion = 1
    var schema = 1
    var id: String
    var level: Int
    var messageID: String { id }
    var priority: Int? { level }
}

struct UrgentHandler: MessageHandler {
    func handle(_ message: TestUrgent, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        try TestLog.record(inbound, in: tx)
        return .applied
    }
}

/// The topology for a RabbitMQ cluster (quorum mode), on the real broker (quorum queues run on one node too):
/// every queue a quorum queue; a queue with priorities in two bands, each message published to its band by
/// its priority, each band with consumers and retry tiers of its own.
@Suite("Quorum topology", .serialized)
final class QuorumTopologyTests: @unchecked Sendable {
    let fixture: StackFixture
    var topology: Topology { fixture.topology }

    init() throws {
        fixture = try StackFixture("quorum", mode: .quorum) { spec in
            var copy = spec
            copy.retryDelaysSeconds = [1]
            return copy
        }
        try fixture.db.execute(TestLog.createTable)
    }
    deinit { fixture.tearDown() }

    @Test("quorum queues; priorities 4 and 5 to the high band; a retry comes back to its band")
    func bands() async throws {
        #expect(topology.bands(.notify) == [.normal, .high] && topology.bands(.billing) == [.normal])
        let types = try TestEnvironment.rabbitmqctl(["list_queues", "-p", "bullpen", "name", "type"])
        let ours = types.split(separator: "\n").filter { $0.hasPrefix(topology.prefix + ".") }
        #expect(!ours.isEmpty && ours.allSatisfy { $0.hasSuffix("quorum") }, "\(ours)")
        #expect(ours.contains { $0.hasPrefix(topology.workQueue(.notify, band: .high) + "\t") })

        for (id, level) in [("n1", 1), ("n3", 3), ("h4", 4), ("h5", 5)] {
            try fixture.broker.publish(TestUrgent(id: id, level: level))
        }
        #expect(try eventually { try self.fixture.broker.depth(self.topology.workQueue(.notify)) == 2 })
        #expect(try eventually { try self.fixture.broker.depth(self.topology.workQueue(.notify, band: .high)) == 2 })
        // What `bullpen status` and GET /v1/queues report counts both bands.
        let inspector = BrokerInspector(
            configuration: try TestEnvironment.amqp(), topology: topology, logger: fixture.logger)
        let inspecting = Task { await inspector.run() }
        let notify = try await inspector.queues().first { $0.queue == .notify }
        inspecting.cancel()
        #expect(notify?.ready == 4, "\(String(describing: notify))")

        let admin = fixture.broker.admin
        try admin.publish(
            exchange: topology.retryExchange, routingKey: topology.retryRoutingKey(.notify, tier: 1, band: .high),
            body: [1], properties: AMQPProperties(messageID: "retried"))
        #expect(
            try eventually(timeout: .seconds(5)) {
                try self.fixture.broker.depth(self.topology.workQueue(.notify, band: .high)) == 3
            }, "back to the high band after the tier's second")
    }

    @Test("a worker consumes both bands: urgent work is done while a backlog of normal work waits")
    func consumers() async throws {
        for i in 0..<300 { try fixture.broker.publish(TestUrgent(id: "normal-\(i)", level: 1)) }
        for i in 0..<5 { try fixture.broker.publish(TestUrgent(id: "urgent-\(i)", level: 5)) }
        #expect(try eventually { try self.fixture.broker.depth(self.topology.workQueue(.notify)) == 300 })
        let pool = WorkerPool(
            configuration: .init(queues: [.notify], consumersPerQueue: 1), topology: topology,
            amqp: try TestEnvironment.amqp(), postgres: fixture.database.configuration,
            handlers: try HandlerRegistry([UrgentHandler()]), metrics: WorkerMetrics(), logger: fixture.logger)
        let running = Task { try await pool.run() }
        defer { running.cancel() }
        #expect(
            try eventually(timeout: .seconds(60)) {
                try self.fixture.count("SELECT count(*) FROM test_log") == 305
            })
        let lastUrgent = try fixture.count("SELECT max(seq) FROM test_log WHERE message_id LIKE 'urgent-%'")
        #expect(lastUrgent < 150, "the 5 urgent ones were done early, not after the 300 normal: at \(lastUrgent)")
        #expect(try fixture.count("SELECT count(DISTINCT message_id) FROM test_log") == 305)
    }
}

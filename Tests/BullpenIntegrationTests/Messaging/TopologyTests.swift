import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import Testing

/// The topology declared on the real broker.
@Suite("Topology on the broker")
struct TopologyTests {
    @Test("applying twice is harmless, and every queue exists afterwards")
    func applyTwice() throws {
        let test = try TestTopology("topo")
        defer { test.remove() }
        try test.topology.apply(on: test.admin)
        for spec in test.topology.queues {
            #expect(try test.depth(test.topology.workQueue(spec.queue)) == 0)
            #expect(try test.depth(test.topology.deadQueue(spec.queue)) == 0)
            for tier in 1...spec.retryDelaysSeconds.count {
                #expect(try test.depth(test.topology.retryQueue(spec.queue, tier: tier)) == 0)
            }
        }
    }

    @Test("a message published to the work exchange lands in its queue; a retry tier returns it after its delay")
    func routing() throws {
        var specs = try Topology.load(from: TestEnvironment.repositoryRoot + "/Queues").queues
        specs = specs.map { spec in
            var copy = spec
            copy.retryDelaysSeconds = [1]
            return copy
        }
        let topology = Topology(prefix: TestEnvironment.uniqueName("route"), queues: specs)
        let admin = try AMQPConnection(try TestEnvironment.amqp())
        try admin.openChannel(1)
        try topology.apply(on: admin)
        defer {
            try? topology.remove(on: admin)
            admin.close()
        }

        try admin.publish(
            exchange: topology.workExchange, routingKey: WorkQueue.review.rawValue, body: [1],
            properties: AMQPProperties(messageID: "a"))
        #expect(eventually { (try? admin.declareQueue(topology.workQueue(.review), passive: true).messageCount) == 1 })
        try admin.publish(
            exchange: topology.retryExchange, routingKey: topology.retryRoutingKey(.review, tier: 1), body: [2],
            properties: AMQPProperties(messageID: "b"))
        #expect(
            eventually {
                (try? admin.declareQueue(topology.retryQueue(.review, tier: 1), passive: true).messageCount) == 1
            })
        #expect(
            eventually(timeout: .seconds(5)) {
                (try? admin.declareQueue(topology.workQueue(.review), passive: true).messageCount) == 2
            })
    }
}

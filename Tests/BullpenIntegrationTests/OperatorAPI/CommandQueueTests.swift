import BullpenDomain
import BullpenMessaging
import BullpenWorkers
import Foundation
import PostgreSQL
import Testing

/// A stand-in for dispatch work: each message holds its consumer 5 ms.
struct SlowDispatch: BullpenMessage {
    static let name = "test.slow-dispatch"
    static let queue = WorkQueue.dispatch
    static let schemaVersion = 1
    var schema = 1
    var id: String
    var messageID: String { id }
}

struct SlowDispatchHandler: MessageHandler {
    func handle(_ message: SlowDispatch, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
        Thread.sleep(forTimeInterval: 0.005)
        return .applied
    }
}

@Suite("Operator API: the command queue")
final class CommandQueueTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("command-queue") }
    deinit { fixture.tearDown() }

    @Test(
        "a planning command is applied at once while thousands of dispatches wait: its queue and consumers are its own")
    func notBehindDispatch() async throws {
        let stack = fixture.stack
        for index in 0..<3000 {
            let outgoing = try Envelope.outgoing(SlowDispatch(id: "d\(index)"), topology: stack.topology, appID: "test")
            try stack.broker.admin.publish(
                exchange: outgoing.exchange, routingKey: outgoing.routingKey, body: outgoing.body,
                properties: outgoing.properties)
        }
        let dispatch = try stack.consumer(
            queue: .dispatch, handlers: try HandlerRegistry(Handlers.all() + [SlowDispatchHandler()]))
        dispatch.start()
        defer { dispatch.stop() }
        try await fixture.run { api in
            let started = ContinuousClock.now
            let client = try await api.create(
                "/v1/clients", #"{"name": "Urgent", "email": "urgent@example.test"}"#, "clientId")
            let took = ContinuousClock.now - started
            #expect(client > 0)
            #expect(took < .seconds(2), "the command took \(took) behind the dispatch backlog")
            // 3,000 dispatches at 5 ms each take 15 s: most are still waiting.
            #expect(try stack.broker.depth(stack.topology.workQueue(.dispatch)) > 1000)
        }
    }
}

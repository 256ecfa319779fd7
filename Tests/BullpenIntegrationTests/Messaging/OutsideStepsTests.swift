import BullpenDomain
import BullpenMessaging
import Foundation
import PostgreSQL
import Synchronization
import Testing

/// The runtime reaches a handler's own batch steps for messages that call outside (a first version declared
/// them in a protocol extension only, so the runtime always ran the one-by-one defaults: the dispatch
/// benchmark fell to 0.4 of before, and every test still passed).
@Suite("Outside calls' batch steps", .serialized)
final class OutsideStepsTests: @unchecked Sendable {
    let fixture: StackFixture

    init() throws { fixture = try StackFixture("outside") }
    deinit { fixture.tearDown() }

    struct Ping: BullpenMessage, Equatable {
        static let name = "test.ping"
        static let queue = WorkQueue.notify
        static let schemaVersion = 1
        var schema = 1
        var id: Int
        var messageID: String { "ping:\(id)" }
        var priority: Int? { nil }
    }

    final class Calls: Sendable {
        let names = Mutex<[String]>([])
        func add(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    struct Handler: OutsideCallingHandler {
        typealias Message = Ping
        let calls: Calls
        func prepare(_ message: Ping, _ inbound: InboundMessage, in tx: PGConnection) throws -> Preparation<Int> {
            calls.add("prepare")
            return .call(message.id)
        }
        func call(_ calls: [Int]) -> [Result<Int, HandlerError>] { calls.map { .success($0) } }
        func settle(
            _ message: Ping, _ inbound: InboundMessage, _ call: Int, _ answer: Int, in tx: PGConnection
        ) throws
            -> HandlerResult
        {
            calls.add("settle")
            return .applied
        }
        func prepareBatch(
            _ messages: [(message: Ping, inbound: InboundMessage)], in tx: PGConnection
        ) throws
            -> [Preparation<Int>]
        {
            calls.add("prepareBatch \(messages.count)")
            return messages.map { .call($0.message.id) }
        }
        func settleBatch(
            _ settled: [(message: Ping, inbound: InboundMessage, call: Int, answer: Int)], in tx: PGConnection
        ) throws -> [HandlerResult] {
            calls.add("settleBatch \(settled.count)")
            return settled.map { _ in .applied }
        }
    }

    @Test("a batch of new messages is prepared and settled by the handler's own batch steps, none one by one")
    func ownBatchSteps() throws {
        let calls = Calls()
        for id in 1...6 { try fixture.broker.publish(Ping(id: id)) }
        let consumer = try fixture.consumer(
            queue: .notify, batchSize: 10, prefetch: 10, handlers: try HandlerRegistry([Handler(calls: calls)]))
        consumer.start()
        defer { consumer.stop() }
        #expect(
            try eventually { try self.fixture.count("SELECT count(*) FROM inbox WHERE message_id LIKE 'ping:%'") == 6 })
        let names = calls.all
        #expect(!names.contains("prepare") && !names.contains("settle"), "\(names)")
        let prepared = names.filter { $0.hasPrefix("prepareBatch ") }.compactMap { Int($0.split(separator: " ")[1]) }
        let settled = names.filter { $0.hasPrefix("settleBatch ") }.compactMap { Int($0.split(separator: " ")[1]) }
        #expect(prepared.reduce(0, +) == 6 && settled.reduce(0, +) == 6, "\(names)")
    }
}

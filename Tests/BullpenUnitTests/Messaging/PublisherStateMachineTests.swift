import AMQP
import Testing

@testable import BullpenMessaging

@Suite("Publisher state machine")
struct PublisherStateMachineTests {
    let start = ContinuousClock.now

    func connected() -> PublisherStateMachine<String> {
        var machine = PublisherStateMachine<String>(now: start, confirmTimeout: .seconds(5))
        #expect(machine.next(now: start, requestsWaiting: false, stopping: false) == .connect)
        machine.connected()
        return machine
    }

    @Test("disconnected: connect when due; fail waiting callers at once between tries; retry with backoff")
    func disconnected() {
        var machine = PublisherStateMachine<String>(now: start, confirmTimeout: .seconds(5))
        #expect(machine.next(now: start, requestsWaiting: true, stopping: false) == .connect)
        machine.connectFailed(now: start)
        #expect(machine.next(now: start, requestsWaiting: true, stopping: false) == .failWaiting)
        #expect(machine.next(now: start, requestsWaiting: false, stopping: false) == .sleep(.milliseconds(50)))
        #expect(machine.next(now: start + .milliseconds(200), requestsWaiting: false, stopping: false) == .connect)
        machine.connectFailed(now: start + .milliseconds(200))
        // The second failure waits twice as long.
        #expect(machine.next(now: start + .milliseconds(500), requestsWaiting: false, stopping: false) != .connect)
        #expect(machine.next(now: start + .milliseconds(600), requestsWaiting: false, stopping: false) == .connect)
        #expect(machine.next(now: start, requestsWaiting: true, stopping: true) == .finish)
    }

    @Test("connected: publish, then read confirms before publishing more; each ack settles its own caller")
    func publishAndConfirm() {
        var machine = connected()
        #expect(machine.next(now: start, requestsWaiting: true, stopping: false) == .publish)
        machine.published(messageID: "a", waiter: "A", now: start)
        machine.published(messageID: "b", waiter: "B", now: start)
        machine.published(messageID: "c", waiter: "C", now: start)
        #expect(machine.next(now: start, requestsWaiting: true, stopping: false) == .read(wait: false))
        let second = machine.received(.publisherAck(channel: 1, deliveryTag: 2, multiple: false))
        #expect(second.map(\.0) == ["B"])
        let rest = machine.received(.publisherAck(channel: 1, deliveryTag: 3, multiple: true))
        #expect(rest.map(\.0) == ["A", "C"])
        #expect(rest.allSatisfy { if case .success = $0.1 { true } else { false } })
        #expect(machine.received(nil).isEmpty)
        #expect(machine.next(now: start, requestsWaiting: true, stopping: false) == .publish)
        #expect(machine.next(now: start, requestsWaiting: false, stopping: false) == .read(wait: true))
    }

    @Test("a nack and a return are failures the caller sees, with their kind")
    func nackAndReturn() throws {
        var machine = connected()
        machine.published(messageID: "a", waiter: "A", now: start)
        machine.published(messageID: "b", waiter: "B", now: start)
        _ = machine.received(.publisherNack(channel: 1, deliveryTag: 1, multiple: false))
            .map { #expect((try? $0.1.get()) == nil) }
        let returned = AMQPReturnedMessage(
            channel: 1, replyCode: 312, replyText: "NO_ROUTE", exchange: "x", routingKey: "k",
            properties: AMQPProperties(messageID: "b"), body: [])
        #expect(machine.received(.returned(returned)).isEmpty)
        let settled = machine.received(.publisherAck(channel: 1, deliveryTag: 2, multiple: false))
        guard case .failure(let error) = try #require(settled.first).1 else {
            Issue.record("a returned message succeeded")
            return
        }
        #expect(error.kind == .unroutable)
    }

    @Test(
        "an overdue confirm abandons the connection; a lost connection fails every waiting caller and reconnects at once"
    )
    func lost() {
        var machine = connected()
        machine.published(messageID: "a", waiter: "A", now: start)
        _ = machine.received(nil)
        #expect(
            machine.next(now: start + .seconds(6), requestsWaiting: false, stopping: false)
                == .abandonConnection(reason: "no confirm within 5.0 seconds"))
        let failed = machine.connectionLost("gone", now: start + .seconds(6))
        #expect(failed.map(\.0) == ["A"])
        guard case .failure(let error) = failed[0].1 else {
            Issue.record("a lost publish succeeded")
            return
        }
        #expect(error.kind == .unavailable)
        #expect(machine.next(now: start + .seconds(6), requestsWaiting: false, stopping: false) == .connect)
    }

    @Test("stopping: finish only once every published message is answered")
    func stopping() {
        var machine = connected()
        machine.published(messageID: "a", waiter: "A", now: start)
        _ = machine.received(nil)
        #expect(machine.next(now: start, requestsWaiting: false, stopping: true) == .read(wait: true))
        _ = machine.received(.publisherAck(channel: 1, deliveryTag: 1, multiple: false))
        _ = machine.received(nil)
        #expect(machine.next(now: start, requestsWaiting: false, stopping: true) == .finish)
    }
}

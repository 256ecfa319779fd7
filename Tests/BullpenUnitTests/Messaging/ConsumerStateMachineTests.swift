import AMQP
import Testing

@testable import BullpenMessaging

@Suite("Consumer state machine")
struct ConsumerStateMachineTests {
    var machine = ConsumerStateMachine(shutdownDeadline: .seconds(10))
    let start = ContinuousClock.now

    @Test("deliveries are handed off; a run of applied ones is settled by one multiple ack, duplicates counted")
    mutating func applied() {
        for tag in UInt64(1)...3 { #expect(machine.delivered(deliveryTag: tag) == [.handOff(deliveryTag: tag)]) }
        let actions = machine.completed([(1, .ack(.applied)), (2, .ack(.duplicate)), (3, .ack(.applied))])
        #expect(actions == [.ack([.upTo(3)], applied: 3, duplicates: 1)])
        #expect(machine.inFlight == 0)
    }

    @Test("a retry publishes a copy to its tier; the original is acked only when the copy is confirmed")
    mutating func retry() {
        _ = machine.delivered(deliveryTag: 1)
        let actions = machine.completed([(1, .retry(tier: 2, nextAttempt: 3, reason: "gateway down"))])
        #expect(actions == [.publishCopy(deliveryTag: 1, to: .retry(tier: 2, nextAttempt: 3, reason: "gateway down"))])
        machine.copyPublished(deliveryTag: 1, messageID: "m1")
        #expect(machine.inFlight == 1)
        #expect(machine.copiesAcked(deliveryTag: 1, multiple: false) == [.ack([.upTo(1)], applied: 0, duplicates: 0)])
        #expect(machine.inFlight == 0)
    }

    @Test("a park publishes a dead-letter copy; an unroutable copy rejects the original, a nacked one requeues it")
    mutating func parkOutcomes() {
        for tag in UInt64(1)...2 { _ = machine.delivered(deliveryTag: tag) }
        let actions = machine.completed([(1, .park(reason: "poison")), (2, .park(reason: "poison too"))])
        #expect(
            actions == [
                .publishCopy(deliveryTag: 1, to: .deadLetter(reason: "poison")),
                .publishCopy(deliveryTag: 2, to: .deadLetter(reason: "poison too")),
            ])
        machine.copyPublished(deliveryTag: 1, messageID: "m1")
        machine.copyPublished(deliveryTag: 2, messageID: "m2")
        machine.copyReturned(messageID: "m1", replyCode: 312, replyText: "NO_ROUTE")
        #expect(machine.copiesAcked(deliveryTag: 1, multiple: false) == [.reject(deliveryTag: 1)])
        #expect(machine.copiesNacked(deliveryTag: 2, multiple: false) == [.requeue(deliveryTag: 2)])
        #expect(machine.inFlight == 0)
    }

    @Test("a multiple ack never covers a delivery whose copy is unconfirmed or that was abandoned")
    mutating func multipleAckIsSafe() {
        for tag in UInt64(1)...4 { _ = machine.delivered(deliveryTag: tag) }
        _ = machine.completed([(1, .park(reason: "bad"))])
        machine.copyPublished(deliveryTag: 1, messageID: "m1")
        _ = machine.completed([(2, .abandon)])
        // 3 and 4 applied: 1 (copy unconfirmed) and 2 (left for redelivery) must stay unacked.
        #expect(
            machine.completed([(3, .ack(.applied)), (4, .ack(.applied))]) == [
                .ack([.single(3), .single(4)], applied: 2, duplicates: 0)
            ])
        #expect(machine.inFlight == 1)
    }

    @Test("a stop cancels the consumer once, waits for in-flight work, and refuses deliveries meanwhile")
    mutating func gracefulStop() {
        _ = machine.delivered(deliveryTag: 1)
        #expect(machine.tick(now: start, stopRequested: false, hardStop: false) == [])
        #expect(machine.tick(now: start, stopRequested: true, hardStop: false) == [.cancelConsumer])
        #expect(machine.tick(now: start + .seconds(1), stopRequested: true, hardStop: false) == [])
        #expect(machine.delivered(deliveryTag: 2) == [], "a delivery after the cancel stays unacked for redelivery")
        _ = machine.completed([(1, .ack(.applied))])
        #expect(machine.tick(now: start + .seconds(2), stopRequested: true, hardStop: false) == [.finish(abandoned: 0)])
    }

    @Test("a stop ends at its deadline, or at once on a hard stop, leaving unfinished work for redelivery")
    mutating func deadline() {
        _ = machine.delivered(deliveryTag: 1)
        _ = machine.tick(now: start, stopRequested: true, hardStop: false)
        #expect(machine.tick(now: start + .seconds(9), stopRequested: true, hardStop: false) == [])
        #expect(
            machine.tick(now: start + .seconds(11), stopRequested: true, hardStop: false) == [.finish(abandoned: 1)])
        var other = ConsumerStateMachine(shutdownDeadline: .seconds(10))
        _ = other.delivered(deliveryTag: 1)
        #expect(
            other.tick(now: start, stopRequested: true, hardStop: true) == [.cancelConsumer, .finish(abandoned: 1)])
    }
}

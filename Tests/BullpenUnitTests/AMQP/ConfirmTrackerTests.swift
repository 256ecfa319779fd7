import AMQP
import Testing

@Suite("Publisher confirm bookkeeping")
struct ConfirmTrackerTests {
    typealias Tracker = ConfirmTracker<String>

    func publish(_ tracker: inout Tracker, _ ids: [String]) {
        for id in ids { tracker.published(messageID: id, token: id) }
    }

    @Test("tags count from 1")
    func tags() {
        var tracker = Tracker()
        #expect(tracker.published(messageID: "a", token: "a") == 1)
        #expect(tracker.published(messageID: "b", token: "b") == 2)
        #expect(tracker.nextDeliveryTag == 3)
    }

    @Test("acks out of order settle exactly their own publish")
    func outOfOrder() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b", "c", "d"])
        #expect(tracker.ack(deliveryTag: 4, multiple: false).map(\.0) == ["d"])
        #expect(tracker.ack(deliveryTag: 2, multiple: false).map(\.0) == ["b"])
        #expect(tracker.ack(deliveryTag: 3, multiple: false).map(\.0) == ["c"])
        #expect(tracker.ack(deliveryTag: 1, multiple: false).map(\.0) == ["a"])
        #expect(tracker.outstandingCount == 0)
        #expect(tracker.ack(deliveryTag: 1, multiple: false).isEmpty)
    }

    @Test("multiple settles every outstanding tag up to the given one")
    func multiple() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b", "c", "d", "e"])
        _ = tracker.ack(deliveryTag: 2, multiple: false)
        let settled = tracker.ack(deliveryTag: 4, multiple: true)
        #expect(settled.map(\.0) == ["a", "c", "d"])
        #expect(settled.allSatisfy { $0.1 == .acked })
        #expect(tracker.outstandingCount == 1)
    }

    @Test("nacks settle as nacked")
    func nack() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b"])
        let settled = tracker.nack(deliveryTag: 2, multiple: true)
        #expect(settled.map(\.1) == [.nacked, .nacked])
    }

    @Test("a returned message settles as returned when its ack arrives")
    func returned() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b"])
        let known = tracker.returned(messageID: "b", replyCode: 312, replyText: "NO_ROUTE")
        let unknown = tracker.returned(messageID: "zzz", replyCode: 312, replyText: "NO_ROUTE")
        #expect(known)
        #expect(!unknown)
        let settled = tracker.ack(deliveryTag: 2, multiple: true)
        #expect(settled.map(\.1) == [.acked, .returned(replyCode: 312, replyText: "NO_ROUTE")])
    }

    @Test("a failure settles everything outstanding and restarts the tags")
    func failAll() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b", "c"])
        _ = tracker.ack(deliveryTag: 1, multiple: false)
        let settled = tracker.failAll()
        #expect(settled.map(\.0) == ["b", "c"])
        #expect(settled.allSatisfy { $0.1 == .failed })
        #expect(tracker.nextDeliveryTag == 1)
        #expect(tracker.oldestToken == nil)
    }

    @Test("broker frames applied as they come: only those of the tracker's channel settle anything")
    func applyEvents() {
        var tracker = Tracker()
        publish(&tracker, ["a", "b"])
        #expect(tracker.apply(.publisherAck(channel: 3, deliveryTag: 2, multiple: true), channel: 2).isEmpty)
        #expect(tracker.apply(.consumerCancelled(channel: 2, consumerTag: "x"), channel: 2).isEmpty)
        let returned = AMQPReturnedMessage(
            channel: 2, replyCode: 312, replyText: "NO_ROUTE", exchange: "", routingKey: "k",
            properties: AMQPProperties(messageID: "b"), body: [])
        #expect(tracker.apply(.returned(returned), channel: 2).isEmpty)
        let settled = tracker.apply(.publisherAck(channel: 2, deliveryTag: 2, multiple: true), channel: 2)
        #expect(settled.map(\.0) == ["a", "b"])
        #expect(settled.map(\.1) == [.acked, .returned(replyCode: 312, replyText: "NO_ROUTE")])
    }
}

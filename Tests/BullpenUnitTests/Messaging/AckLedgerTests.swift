import BullpenMessaging
import Testing

@Suite("Ack coalescing")
struct AckLedgerTests {
    func ledger(_ tags: ClosedRange<UInt64>) -> AckLedger {
        var ledger = AckLedger()
        for tag in tags { ledger.delivered(tag) }
        return ledger
    }

    @Test("the oldest unsettled deliveries are acked with one multiple frame")
    func prefix() {
        var acks = ledger(1...10)
        #expect(acks.ack([1, 2, 3]) == [.upTo(3)])
        #expect(acks.ack([5, 4]) == [.upTo(5)])
        #expect(acks.unsettledCount == 5)
    }

    @Test("a gap (a delivery waiting for its retry copy's confirm) forces single acks")
    func gap() {
        var acks = ledger(1...6)
        #expect(acks.ack([1, 3, 4]) == [.single(1), .single(3), .single(4)])
        #expect(acks.unsettledCount == 3)
        // Once 2 settles, 5 and 6 are a prefix again.
        #expect(acks.ack([2]) == [.upTo(2)])
        #expect(acks.ack([5, 6]) == [.upTo(6)])
        #expect(acks.unsettledCount == 0)
    }

    @Test("a delivery settled by a reject or nack no longer blocks the prefix")
    func forget() {
        var acks = ledger(1...4)
        acks.forget(2)
        #expect(acks.ack([1, 3]) == [.upTo(3)])
        #expect(acks.unsettledCount == 1)
    }

    @Test("nothing to ack sends nothing")
    func empty() {
        var acks = ledger(1...2)
        #expect(acks.ack([]) == [])
    }
}

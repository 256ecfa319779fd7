/// Which deliveries of a channel are still unacknowledged, and how to ack a set of them with as few frames as
/// possible: one `multiple` ack when they are exactly the oldest unsettled deliveries, single acks otherwise
/// (a `multiple` ack must never cover a delivery whose retry or dead-letter copy is not yet confirmed).
/// A state machine with no I/O.
public struct AckLedger: Sendable {
    /// An ack frame to send.
    public enum Ack: Sendable, Equatable {
        case single(UInt64)
        case upTo(UInt64)
    }

    /// Delivered and not yet settled, in delivery order (tags only grow on a channel).
    private var unsettled: [UInt64] = []
    private var head = 0

    public init() {}

    public var unsettledCount: Int { unsettled.count - head }

    public mutating func delivered(_ tag: UInt64) {
        unsettled.append(tag)
    }

    /// Settles `tags` (each delivered and not yet settled) and returns the ack frames that do it.
    public mutating func ack(_ tags: [UInt64]) -> [Ack] {
        guard let highest = tags.max() else { return [] }
        let wanted = Set(tags)
        // How many unsettled deliveries are at or below the highest tag to ack?
        var low = head
        var high = unsettled.count
        while low < high {
            let mid = (low + high) / 2
            if unsettled[mid] <= highest { low = mid + 1 } else { high = mid }
        }
        if low - head == wanted.count {
            head = low
            compact()
            return [.upTo(highest)]
        }
        let remaining = unsettled[head...].filter { !wanted.contains($0) }
        unsettled = Array(remaining)
        head = 0
        return tags.sorted().map { .single($0) }
    }

    /// Forgets a delivery settled otherwise (rejected or nacked). A delivery left for redelivery must NOT be
    /// forgotten: it has to keep blocking `multiple` acks.
    public mutating func forget(_ tag: UInt64) {
        if let index = unsettled[head...].firstIndex(of: tag) { unsettled.remove(at: index) }
    }

    private mutating func compact() {
        if head > 1024 && head * 2 > unsettled.count {
            unsettled.removeFirst(head)
            head = 0
        }
    }
}

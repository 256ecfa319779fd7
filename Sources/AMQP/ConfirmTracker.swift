/// Publisher-confirm bookkeeping for one channel, as a state machine with no I/O.
///
/// Delivery tags count from 1 after confirm.select. The broker may ack out of order (4, 3, 2, 1 with
/// `multiple` false) or several at once (`multiple` true: every outstanding tag up to the given one).
/// A mandatory message that cannot be routed comes back with basic.return and is then still acked:
/// the tracker remembers the return and reports the outcome as `.returned` when the ack arrives.
public struct ConfirmTracker<Token> {
    /// How a publish ended.
    public enum Outcome: Equatable, Sendable {
        /// The broker has the message (persisted, for persistent messages on durable queues).
        case acked
        /// The broker refused to take responsibility for the message; publish it again.
        case nacked
        /// The message could not be routed to any queue (mandatory publish).
        case returned(replyCode: UInt16, replyText: String)
        /// The channel or connection failed before the broker answered; the message may or may not have
        /// arrived, so publish it again (downstream deduplicates by message id).
        case failed
    }

    private struct Pending {
        let tag: UInt64
        let messageID: String?
        let token: Token
        var returned: Outcome?
    }

    /// Outstanding publishes, ordered by delivery tag.
    private var pending: [Pending] = []
    /// The delivery tag the next publish on this channel will get.
    public private(set) var nextDeliveryTag: UInt64 = 1

    public init() {}

    /// Publishes not yet confirmed.
    public var outstandingCount: Int { pending.count }

    /// The token of the oldest publish not yet confirmed (to enforce a confirm deadline).
    public var oldestToken: Token? { pending.first?.token }

    /// Records a publish that just left; returns its delivery tag.
    @discardableResult
    public mutating func published(messageID: String?, token: Token) -> UInt64 {
        let tag = nextDeliveryTag
        nextDeliveryTag += 1
        pending.append(Pending(tag: tag, messageID: messageID, token: token, returned: nil))
        return tag
    }

    /// Applies basic.ack; returns the publishes it settles.
    public mutating func ack(deliveryTag: UInt64, multiple: Bool) -> [(Token, Outcome)] {
        settle(deliveryTag: deliveryTag, multiple: multiple) { $0.returned ?? .acked }
    }

    /// Applies basic.nack; returns the publishes it settles.
    public mutating func nack(deliveryTag: UInt64, multiple: Bool) -> [(Token, Outcome)] {
        settle(deliveryTag: deliveryTag, multiple: multiple) { _ in .nacked }
    }

    /// Applies basic.return: the oldest outstanding publish with this message id will settle as returned.
    /// Returns false when no outstanding publish has that id.
    @discardableResult
    public mutating func returned(messageID: String?, replyCode: UInt16, replyText: String) -> Bool {
        guard let index = pending.firstIndex(where: { $0.messageID == messageID && $0.returned == nil }) else {
            return false
        }
        pending[index].returned = .returned(replyCode: replyCode, replyText: replyText)
        return true
    }

    /// The channel or connection failed: every outstanding publish settles as `.failed`, and tags restart
    /// at 1 for the next confirm.select.
    public mutating func failAll() -> [(Token, Outcome)] {
        let settled = pending.map { ($0.token, Outcome.failed) }
        pending.removeAll()
        nextDeliveryTag = 1
        return settled
    }

    private mutating func settle(
        deliveryTag: UInt64, multiple: Bool, outcome: (Pending) -> Outcome
    ) -> [(Token, Outcome)] {
        if multiple {
            let end = pending.firstIndex { $0.tag > deliveryTag } ?? pending.endIndex
            let settled = pending[..<end].map { ($0.token, outcome($0)) }
            pending.removeSubrange(..<end)
            return settled
        }
        guard let index = binarySearch(deliveryTag) else { return [] }
        let entry = pending.remove(at: index)
        return [(entry.token, outcome(entry))]
    }

    private func binarySearch(_ tag: UInt64) -> Int? {
        var low = 0
        var high = pending.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if pending[mid].tag == tag { return mid }
            if pending[mid].tag < tag { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }
}

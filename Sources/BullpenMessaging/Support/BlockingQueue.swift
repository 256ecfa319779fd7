import Foundation

/// A FIFO handed between threads: producers never block, the consumer waits with a timeout.
public final class BlockingQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0

    public init() {}

    public func put(_ element: Element) {
        condition.lock()
        items.append(element)
        condition.signal()
        condition.unlock()
    }

    /// The next element, or nil when `timeout` passed first.
    public func take(timeout: Duration) -> Element? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(
            Double(timeout.components.seconds)
                + Double(timeout.components.attoseconds) / 1e18)
        while head == items.count {
            if !condition.wait(until: deadline) { break }
        }
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Up to `limit` elements: waits up to `timeout` for the first, then takes what is already queued.
    public func take(upTo limit: Int, timeout: Duration) -> [Element] {
        guard let first = take(timeout: timeout) else { return [] }
        condition.lock()
        defer { condition.unlock() }
        let more = min(limit - 1, items.count - head)
        var out = [first]
        if more > 0 {
            out.append(contentsOf: items[head..<head + more])
            head += more
        }
        return out
    }

    /// Everything queued now, without waiting.
    public func drain() -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        let out = Array(items[head...])
        items.removeAll(keepingCapacity: true)
        head = 0
        return out
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }
}

/// Where an event stands in the feed: the transaction that wrote it, then its id. Readers go in this order,
/// and only below the oldest transaction still in flight, so a reader's position only ever moves over
/// history that can no longer change (see ``ReadModel/events(after:limit:viewer:on:)``). Within one
/// transaction, events come in the order they were written.
public struct EventPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The writing transaction's id (PostgreSQL's `xid8`, which never wraps); 0 for events older than the feed.
    public let transaction: UInt64
    /// The event's id.
    public let id: Int64

    public init(transaction: UInt64, id: Int64) {
        self.transaction = transaction
        self.id = id
    }

    /// Before every event.
    public static let start = EventPosition(transaction: 0, id: 0)

    public static func < (a: EventPosition, b: EventPosition) -> Bool {
        (a.transaction, a.id) < (b.transaction, b.id)
    }

    public var description: String { "\(transaction):\(id)" }
}

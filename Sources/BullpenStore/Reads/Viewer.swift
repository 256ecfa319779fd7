import PostgreSQL

/// Who reads: an operator sees every row; a client token only its own client's. The restriction is part of
/// each query's SQL (`$1` is the client id, or NULL for an operator), never a filter applied afterwards.
public struct Viewer: Sendable, Equatable {
    /// The client whose rows may be read; nil for an operator.
    public let clientID: Int64?

    public static let `operator` = Viewer(clientID: nil)
    public static func client(_ id: Int64) -> Viewer { Viewer(clientID: id) }
}

/// One page of a list, in id order, rendered as JSON by PostgreSQL: `{"data": [...], "nextCursor": ...}`.
public struct Page: Sendable, Equatable {
    /// Each item's JSON object text.
    public let items: [String]
    /// The cursor of the next page; nil on the last.
    public let nextCursor: String?

    /// The page's JSON text.
    public var json: String {
        let cursor = nextCursor.map { "\"\($0)\"" } ?? "null"
        return "{\"data\":[" + items.joined(separator: ",") + "],\"nextCursor\":" + cursor + "}"
    }
}

/// Keyset pagination: `limit` items after the row whose id the cursor holds.
public struct PageRequest: Sendable, Equatable {
    public static let maxLimit = 200
    public let after: Int64
    public let limit: Int

    public init(after: Int64 = 0, limit: Int = 50) {
        self.after = after
        self.limit = limit
    }

    /// Runs a list query whose first columns are `id` and `item` (the JSON text). The query's `$1` is the
    /// viewer's client id, `$2` the id to start after, `$3` the number of rows (one more than the page).
    func page(
        _ sql: String, name: String, viewer: Viewer, filters: [(any PGEncodable)?], on db: PGConnection
    ) throws
        -> Page
    {
        db.prepare(name, sql)
        let rows = try db.executePrepared(name, [viewer.clientID, after, limit + 1] + filters).rows
        let items = try rows.prefix(limit).map { try $0.decode("item", as: String.self) }
        let next = rows.count > limit ? try rows[limit - 1].decode("id", as: Int64.self) : nil
        return Page(items: items, nextCursor: next.map(String.init))
    }
}

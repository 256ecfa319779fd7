import CPostgres

/// The rows of one statement's result, read lazily from libpq's result; safe to hand to another thread.
public final class PGResult: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Rows returned.
    public let count: Int
    /// Column names, in order.
    public let columns: [String]
    /// Rows inserted, updated or deleted (PQcmdTuples); 0 for other statements.
    public let rowsAffected: Int

    init(_ handle: OpaquePointer) {
        self.handle = handle
        count = Int(PQntuples(handle))
        columns = (0..<PQnfields(handle)).map { String(cString: PQfname(handle, $0)) }
        rowsAffected = Int(String(cString: PQcmdTuples(handle))) ?? 0
    }

    deinit {
        PQclear(handle)
    }

    /// The text of a value, or nil for SQL NULL.
    public func text(row: Int, column: Int) -> String? {
        guard row < count, column < columns.count else { return nil }
        if PQgetisnull(handle, Int32(row), Int32(column)) != 0 { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// The index of the named column.
    public func columnIndex(_ name: String) throws -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw PGError(.decoding, "no column named \(name) in the result")
        }
        return index
    }

    public subscript(row: Int) -> PGRow { PGRow(result: self, index: row) }

    /// Every row.
    public var rows: [PGRow] { (0..<count).map { PGRow(result: self, index: $0) } }

    /// The first row, if any.
    public var first: PGRow? { count > 0 ? self[0] : nil }
}

/// One row of a ``PGResult``; decode columns by name or position.
public struct PGRow: Sendable {
    let result: PGResult
    public let index: Int

    /// Decodes a non-NULL column; throws when it is NULL or does not decode.
    public func decode<T: PGDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decode(column, as: Optional<T>.self) else {
            throw PGError(.decoding, "column \(column) is NULL")
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PGDecodable>(_ column: String, as type: T?.Type) throws -> T? {
        try decode(at: result.columnIndex(column), as: type)
    }

    /// Decodes a column by position.
    public func decode<T: PGDecodable>(at column: Int, as type: T?.Type) throws -> T? {
        guard let text = result.text(row: index, column: column) else { return nil }
        return try T(pgText: text)
    }

    /// Decodes a non-NULL column by position.
    public func decode<T: PGDecodable>(at column: Int, as type: T.Type = T.self) throws -> T {
        guard let text = result.text(row: index, column: column) else {
            throw PGError(.decoding, "column \(column) is NULL")
        }
        return try T(pgText: text)
    }
}

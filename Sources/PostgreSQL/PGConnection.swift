import CPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// A notification received on a channel this connection LISTENs on.
public struct PGNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
    public let backendPID: Int32
}

/// One PostgreSQL session over libpq.
///
/// Not thread-safe: use it from one thread at a time. Calls block that thread; the runtime gives each
/// consumer its own connection on its own thread. After an I/O failure the next call resets the session,
/// preparing statements and LISTENing again, so a restarted server is survived.
///
/// ```swift
/// let db = try PGConnection(try PostgresConfiguration(url: url))
/// let rows = try db.query("select id, status from tasks where id = $1", [42])
/// ```
public final class PGConnection {
    public let configuration: PostgresConfiguration
    private var handle: OpaquePointer?
    private var prepared: [String: String] = [:]
    /// When each statement was prepared on the server (its plan made at its first execution after that).
    private var preparedOnServer: [String: ContinuousClock.Instant] = [:]
    /// A prepared statement is prepared again once it is this old, so that its plan is made anew from the
    /// tables as they are now. A plan is otherwise kept for the session's life unless the statistics of a
    /// table it reads are updated: a generic plan made while a table was empty (a fresh database, or one just
    /// truncated) scans it whole, and went on scanning it as it grew until autovacuum analyzed it, which can
    /// take minutes. nil: never.
    public var replanInterval: Duration? = .seconds(10)
    private var listening: Set<String> = []
    /// Inside `transaction`: a broken session must fail the unit of work, never reconnect silently
    /// (the rest of the statements would run outside the transaction).
    private var inTransaction = false

    /// Connects; throws `.connectFailed` when the server cannot be reached within the connect timeout.
    public init(_ configuration: PostgresConfiguration) throws {
        self.configuration = configuration
        try connect()
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    private func connect() throws {
        let conn = PQconnectdb(configuration.connectionString)
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            let text = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let conn { PQfinish(conn) }
            throw PGError(
                .connectFailed,
                "cannot connect to \(configuration.serverList)/"
                    + "\(configuration.database): \(Self.trimmed(text))")
        }
        handle = conn
    }

    /// True when the session is usable as far as libpq knows.
    public var isHealthy: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Throws away the session and opens a new one; prepared statements and LISTENs are restored lazily
    /// and eagerly respectively.
    public func reset() throws {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedOnServer.removeAll()
        try connect()
        for channel in listening { try execute("LISTEN \(Self.quoteIdentifier(channel))") }
    }

    /// Closes the session.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    private func liveHandle() throws -> OpaquePointer {
        if let handle, PQstatus(handle) == CONNECTION_OK { return handle }
        if inTransaction { throw PGError(.connectionLost, "the connection broke inside a transaction") }
        try reset()
        return handle!
    }

    // MARK: Statements

    /// Runs one statement with `$1`, `$2` ... parameters sent separately from the SQL text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PGEncodable)?] = []) throws -> PGResult {
        let conn = try liveHandle()
        let result = try withParameters(parameters) { count, values in
            PQexecParams(conn, sql, count, nil, values, nil, nil, 0)
        }
        return try check(result, conn)
    }

    /// Runs SQL without parameters; may hold several statements (used by migrations).
    public func execute(_ sql: String) throws {
        let conn = try liveHandle()
        _ = try check(PQexec(conn, sql), conn)
    }

    /// Registers a named statement for this session; it is prepared on first use, and again after a reset.
    public func prepare(_ name: String, _ sql: String) {
        prepared[name] = sql
    }

    /// Runs a statement registered with ``prepare(_:_:)``.
    @discardableResult
    public func executePrepared(_ name: String, _ parameters: [(any PGEncodable)?] = []) throws -> PGResult {
        guard let sql = prepared[name] else { throw PGError(.invalidConfiguration, "no prepared statement \(name)") }
        let conn = try liveHandle()
        let now = ContinuousClock.now
        if let preparedAt = preparedOnServer[name], let replanInterval, now - preparedAt >= replanInterval {
            _ = try check(PQexec(conn, "DEALLOCATE \(Self.quoteIdentifier(name))"), conn)
            preparedOnServer[name] = nil
        }
        if preparedOnServer[name] == nil {
            _ = try check(PQprepare(conn, name, sql, 0, nil), conn)
            preparedOnServer[name] = now
        }
        let result = try withParameters(parameters) { count, values in
            PQexecPrepared(conn, name, count, values, nil, nil, 0)
        }
        return try check(result, conn)
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    public func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { try? execute("ROLLBACK") }
            throw error
        }
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes this session to a channel (again after every reset).
    public func listen(_ channel: String) throws {
        try execute("LISTEN \(Self.quoteIdentifier(channel))")
        listening.insert(channel)
    }

    /// Sends a notification (`pg_notify`), delivered when the current transaction commits.
    public func notify(_ channel: String, payload: String) throws {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Returns notifications that have arrived, waiting up to `timeout` for the first one.
    public func notifications(timeout: Duration) throws -> [PGNotification] {
        let conn = try liveHandle()
        var received = drainNotifications(conn)
        if !received.isEmpty { return received }
        let ready = bp_pg_wait_readable(PQsocket(conn), Int32(timeout.wholeMilliseconds))
        if ready > 0 {
            guard PQconsumeInput(conn) == 1 else {
                throw PGError(.connectionLost, Self.trimmed(String(cString: PQerrorMessage(conn))))
            }
            received = drainNotifications(conn)
        }
        return received
    }

    private func drainNotifications(_ conn: OpaquePointer) -> [PGNotification] {
        _ = PQconsumeInput(conn)
        var out: [PGNotification] = []
        while let note = PQnotifies(conn) {
            out.append(
                PGNotification(
                    channel: String(cString: note.pointee.relname), payload: String(cString: note.pointee.extra),
                    backendPID: note.pointee.be_pid))
            PQfreemem(note)
        }
        return out
    }

    // MARK: Helpers

    /// Hands the parameters to libpq as C strings. libpq reads text parameters up to their first NUL byte, and
    /// PostgreSQL's text cannot hold U+0000 at all, so a parameter with a NUL is refused here rather than cut
    /// short silently.
    private func withParameters(
        _ parameters: [(any PGEncodable)?], _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> OpaquePointer?
    ) throws -> OpaquePointer? {
        let texts = parameters.map { $0?.pgText }
        var cStrings: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } ?? nil }
        defer { for p in cStrings { free(p) } }
        // strdup stops at the first NUL: a copy shorter than its text is a text with a NUL in it.
        for (index, text) in texts.enumerated() {
            if let text, let copy = cStrings[index], strlen(copy) != text.utf8.count {
                throw PGError(
                    .encoding,
                    "parameter $\(index + 1) contains a NUL character (U+0000), which PostgreSQL text cannot hold")
            }
        }
        return cStrings.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) {
                body(Int32(texts.count), texts.isEmpty ? nil : $0)
            }
        }
    }

    private func check(_ result: OpaquePointer?, _ conn: OpaquePointer) throws -> PGResult {
        guard let result else {
            throw PGError(.connectionLost, Self.trimmed(String(cString: PQerrorMessage(conn))))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PGResult(result)
        default:
            func field(_ code: Int32) -> String? {
                PQresultErrorField(result, code).map { String(cString: $0) }
            }
            let sqlState = field(BP_PG_DIAG_SQLSTATE)
            let message = field(BP_PG_DIAG_MESSAGE_PRIMARY) ?? Self.trimmed(String(cString: PQerrorMessage(conn)))
            let error = PGError(
                PQstatus(conn) == CONNECTION_OK ? .server : .connectionLost, message, sqlState: sqlState,
                detail: field(BP_PG_DIAG_MESSAGE_DETAIL), constraint: field(BP_PG_DIAG_CONSTRAINT_NAME))
            PQclear(result)
            throw error
        }
    }

    static func trimmed(_ text: String) -> String {
        var t = Substring(text)
        while let last = t.last, last == "\n" || last == " " { t = t.dropLast() }
        return String(t)
    }

    /// Quotes an identifier for SQL ("name" with embedded quotes doubled).
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }
}

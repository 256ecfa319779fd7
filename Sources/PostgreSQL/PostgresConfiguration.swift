import ServiceURL

/// Where and how to connect to PostgreSQL. Parsed once at start-up from a `postgresql://` URL.
///
/// ```swift
/// let config = try PostgresConfiguration(url: "postgresql://bullpen:bullpen@127.0.0.1:5432/bullpen")
/// ```
public struct PostgresConfiguration: Sendable, Equatable {
    /// Default `127.0.0.1`.
    public var host: String
    /// Default `5432`.
    public var port: Int
    public var user: String
    /// Never printed: `description` masks it.
    public var password: String
    public var database: String
    /// Schema(s) for unqualified names; tests give each suite its own. Default nil (the server's default).
    public var searchPath: String?
    /// Shown in pg_stat_activity. Default `bullpen`.
    public var applicationName: String
    /// Time allowed to connect. Default 5 s.
    public var connectTimeout: Duration
    /// Longest a single statement may run before the server cancels it. Default 30 s.
    public var statementTimeout: Duration
    /// Time after which unacknowledged TCP data means the server is gone. Default 10 s.
    public var tcpUserTimeout: Duration
    /// Longest a session may sit idle inside a transaction before the server ends it (and rolls it back):
    /// a session whose client lost its link mid-transaction would otherwise hold its locks, and the event
    /// feed's horizon, until someone terminated it by hand. Longer than any pause Bullpen makes inside a
    /// transaction. Default 60 s.
    public var idleInTransactionTimeout: Duration = .seconds(60)
    /// TLS, as libpq takes it: `sslmode` (disable, require, verify-ca, verify-full; libpq's default, prefer,
    /// when nil) and the files `sslrootcert`, `sslcert`, `sslkey`.
    public var tls: [String: String] = [:]

    /// The URL's TLS parameters, passed to libpq as they are.
    public static let tlsParameters = ["sslmode", "sslrootcert", "sslcert", "sslkey"]
    /// More servers after `host:port` (a URL's `host1:port1,host2:port2`: a primary and its standbys), tried in
    /// order by libpq at each connection until one has `targetSessionAttributes`.
    public var alternates: [Server] = []
    /// libpq's `target_session_attrs`: which of the servers will do. Default, with alternates,
    /// `read-write` (the primary, wherever a fail-over put it); nil otherwise (libpq's `any`).
    public var targetSessionAttributes: String?

    public typealias Server = ServiceEndpoint

    /// Every server to try, `host:port` first.
    public var servers: [Server] { [Server(host: host, port: port)] + alternates }

    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String = "postgres", password: String = "",
        database: String = "postgres", searchPath: String? = nil, applicationName: String = "bullpen",
        connectTimeout: Duration = .seconds(5), statementTimeout: Duration = .seconds(30),
        tcpUserTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.searchPath = searchPath
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.tcpUserTimeout = tcpUserTimeout
    }

    /// Parses `postgresql://user:pass@host:port/database?search_path=s&application_name=a&connect_timeout=5`
    /// (`postgres://` is accepted too). A primary and its standbys go in the host part, comma-separated
    /// (`postgresql://u:p@pg1:5432,pg2:5432/db`); `target_session_attrs` says which will do.
    public init(url: String) throws {
        self.init()
        let parsed: ServiceURL
        do {
            parsed = try ServiceURL(url, schemes: ["postgresql", "postgres"])
        } catch {
            throw PGError(.invalidConfiguration, "invalid database URL: \(error)")
        }
        if let v = parsed.user { user = v }
        if let v = parsed.password { password = v }
        if let v = parsed.host { host = v }
        if let v = parsed.port { port = v }
        if let v = parsed.path, !v.isEmpty { database = v }
        if let v = parsed.queryValue("search_path") { searchPath = v }
        if let v = parsed.queryValue("application_name") { applicationName = v }
        if let v = parsed.queryValue("connect_timeout").flatMap(Int.init) { connectTimeout = .seconds(v) }
        for key in Self.tlsParameters { if let v = parsed.queryValue(key) { tls[key] = v } }
        alternates = parsed.alternates.map { Server(host: $0.host, port: $0.port ?? 5432) }
        targetSessionAttributes = parsed.queryValue("target_session_attrs") ?? (alternates.isEmpty ? nil : "read-write")
        if let attributes = targetSessionAttributes,
            !["any", "read-write", "read-only", "primary", "standby", "prefer-standby"].contains(attributes)
        {
            throw PGError(
                .invalidConfiguration, "invalid database URL: target_session_attrs \(attributes) is not one of libpq's")
        }
        if let mode = tls["sslmode"],
            !["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(mode)
        {
            throw PGError(.invalidConfiguration, "invalid database URL: sslmode \(mode) is not one of libpq's")
        }
    }

    /// The libpq connection string, with every value quoted.
    var connectionString: String {
        var options =
            "-c TimeZone=UTC -c client_min_messages=warning -c statement_timeout=\(statementTimeout.wholeMilliseconds)"
            + " -c idle_in_transaction_session_timeout=\(idleInTransactionTimeout.wholeMilliseconds)"
        if let searchPath { options += " -c search_path=\(searchPath)" }
        let pairs: [(String, String)] =
            [
                ("host", servers.map(\.host).joined(separator: ",")),
                ("port", servers.map { String($0.port) }.joined(separator: ",")), ("user", user),
                ("password", password), ("dbname", database),
                ("application_name", applicationName),
                ("connect_timeout", String(max(1, Int(connectTimeout.components.seconds)))),
                ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
                ("tcp_user_timeout", String(tcpUserTimeout.wholeMilliseconds)),
                ("options", options),
            ] + Self.tlsParameters.compactMap { key in tls[key].map { (key, $0) } }
            + (targetSessionAttributes.map { [("target_session_attrs", $0)] } ?? [])
        return pairs.map { key, value in
            let escaped = value.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'")
            return "\(key)='\(escaped)'"
        }.joined(separator: " ")
    }
}

extension PostgresConfiguration: CustomStringConvertible {
    /// The URL with the password masked, safe for logs.
    public var description: String {
        "postgresql://\(user):***@\(serverList)/\(database)" + (searchPath.map { "?search_path=\($0)" } ?? "")
            + (tls["sslmode"].map { (searchPath == nil ? "?" : "&") + "sslmode=\($0)" } ?? "")
    }

    /// `host:port`, or each server's comma-separated.
    public var serverList: String { servers.map { "\($0.host):\($0.port)" }.joined(separator: ",") }
}

extension String {
    /// Replaces every `target` scalar. By Unicode scalar, not by Character: a quote followed by a combining
    /// mark is one Character that is not equal to the quote, and would be left unescaped.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == target { result.append(contentsOf: replacement.unicodeScalars) } else { result.append(scalar) }
        }
        return String(result)
    }
}

extension Duration {
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// An error from the PostgreSQL layer, with the server's SQLSTATE where there is one.
/// The description carries the server's message but never the connection's password.
public struct PGError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The URL or settings are wrong.
        case invalidConfiguration
        /// Could not connect.
        case connectFailed
        /// The connection broke; reset or reconnect, then retry the unit of work.
        case connectionLost
        /// The server refused the statement; see `sqlState`.
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// A parameter cannot be sent as it is (a NUL character in text); nothing was sent.
        case encoding
    }

    public let kind: Kind
    /// Five-character SQLSTATE (23505 unique violation, 40001 serialization failure ...).
    public let sqlState: String?
    public let message: String
    public let detail: String?
    /// The constraint that was violated, where the server names one.
    public let constraint: String?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
    }

    /// 23505: the row already exists. For an inbox insert this means "already applied".
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// Class 23 (integrity constraint: check, foreign key, unique, not null) or 22 (data exception: a value
    /// too long, out of range): the statement's data broke a rule, and running it again gives the same.
    public var isConstraintViolation: Bool {
        kind == .server && (sqlState?.hasPrefix("23") == true || sqlState?.hasPrefix("22") == true)
    }

    /// The violated constraint's name, or else the server's message, for a reason shown to an operator.
    public var constraintSummary: String { constraint ?? message }

    /// 40001 or 40P01: the transaction lost a race and may simply be run again.
    public var isRetryableTransaction: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// Class 08, 57P01..03 or a broken socket: the connection must be reset.
    public var isConnectionFailure: Bool {
        kind == .connectionLost || kind == .connectFailed || sqlState?.hasPrefix("08") == true
            || ["57P01", "57P02", "57P03"].contains(sqlState ?? "")
    }

    public var description: String {
        var text = "PostgreSQL \(kind)"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }
}

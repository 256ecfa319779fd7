/// An outbound HTTP request.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Whole-request deadline, connect included. Default 10 s.
    public var timeout: Duration
    /// Deadline for the TCP (and TLS) connect. Default 5 s.
    public var connectTimeout: Duration

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }
}

/// What came back.
public struct HTTPClientResponse: Sendable {
    public let status: Int
    /// Response headers in arrival order, names as sent.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A request that got no HTTP response. Never contains header values (they may hold credentials).
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The deadline passed; the request may or may not have reached the server.
        case timeout
        /// No connection could be made.
        case connect
        /// Anything else from libcurl.
        case transport
    }

    public let kind: Kind
    public let message: String

    public var description: String { "HTTP \(kind): \(message)" }
}

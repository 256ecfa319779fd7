/// A service URL of the form `scheme://user:password@host:port/path?key=value&...`, as used for
/// RabbitMQ (`amqp://`) and PostgreSQL (`postgresql://`). Parts are percent-decoded.
///
/// Shared by the AMQP and PostgreSQL layers so both read their URLs the same way.
public struct ServiceURL: Sendable, Equatable {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String?
    public var port: Int?
    /// The path without its leading slash; nil when there is none, "" when it is just "/".
    public var path: String?
    public var query: [(key: String, value: String)]
    /// More hosts after the first, from a host part `host1:port1,host2:port2,...` (a cluster's nodes, a
    /// primary and its standbys); each port nil when not given.
    public var alternates: [Node] = []

    /// One host of a list, with its port if the URL gave one.
    public struct Node: Sendable, Equatable {
        public var host: String
        public var port: Int?
    }

    public static func == (lhs: ServiceURL, rhs: ServiceURL) -> Bool {
        lhs.scheme == rhs.scheme && lhs.user == rhs.user && lhs.password == rhs.password && lhs.host == rhs.host
            && lhs.port == rhs.port && lhs.path == rhs.path && lhs.alternates == rhs.alternates
            && lhs.query.map { "\($0.key)=\($0.value)" } == rhs.query.map { "\($0.key)=\($0.value)" }
    }

    /// Why a URL could not be read. The text never contains the password.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses `text`, which must start with one of `schemes` followed by `://`.
    public init(_ text: String, schemes: [String]) throws {
        guard let scheme = schemes.first(where: { text.hasPrefix($0 + "://") }) else {
            throw ParseError(
                description: "URL must start with \(schemes.map { $0 + "://" }.joined(separator: " or "))"
                    + " (got \(Self.redacted(text)))")
        }
        self.scheme = scheme
        var rest = Substring(text.dropFirst(scheme.count + 3))
        query = []
        if let q = rest.firstIndex(of: "?") {
            for item in rest[rest.index(after: q)...].split(separator: "&") {
                let parts = item.split(separator: "=", maxSplits: 1)
                query.append((Self.percentDecoded(parts[0]), parts.count == 2 ? Self.percentDecoded(parts[1]) : ""))
            }
            rest = rest[..<q]
        }
        if let slash = rest.firstIndex(of: "/") {
            path = Self.percentDecoded(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = Self.percentDecoded(credentials[..<colon])
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                user = Self.percentDecoded(credentials)
            }
        }
        let nodes = rest.split(separator: ",", omittingEmptySubsequences: false)
        if nodes.count > 1 {
            guard nodes.allSatisfy({ !$0.isEmpty }) else {
                throw ParseError(description: "URL has an empty host in its list (\(Self.redacted(text)))")
            }
            alternates = try nodes.dropFirst().map { node in
                let (host, port) = try Self.hostAndPort(node, text)
                return Node(host: String(host), port: port)
            }
            rest = nodes[0]
        }
        let (first, firstPort) = try Self.hostAndPort(rest, text)
        port = firstPort
        if !first.isEmpty { host = String(first) }
    }

    /// `host:port` or `host`; the port checked.
    private static func hostAndPort(_ node: Substring, _ text: String) throws -> (Substring, Int?) {
        guard let colon = node.lastIndex(of: ":") else { return (node, nil) }
        guard let port = Int(node[node.index(after: colon)...]), (1...65535).contains(port) else {
            throw ParseError(description: "URL has an invalid port (\(Self.redacted(text)))")
        }
        return (node[..<colon], port)
    }

    /// The value of the first query item named `key`.
    public func queryValue(_ key: String) -> String? {
        query.first { $0.key == key }?.value
    }

    /// Decodes `%XX` escapes; leaves malformed escapes as they are.
    public static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
                let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` with any password between `scheme://user:` and `@` replaced by `***`; safe for logs.
    public static func redacted(_ text: String) -> String {
        let chars = Array(text)
        guard
            let schemeEnd = (0..<max(chars.count - 2, 0)).first(where: {
                chars[$0] == ":" && chars[$0 + 1] == "/" && chars[$0 + 2] == "/"
            })
        else { return text }
        let start = schemeEnd + 3
        guard let at = chars[start...].lastIndex(of: "@"),
            let colon = chars[start..<at].firstIndex(of: ":")
        else { return text }
        return String(chars[..<colon]) + ":***" + String(chars[at...])
    }
}

/// A host and its port: one node of a broker cluster, one server of a primary and its standbys.
public struct ServiceEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

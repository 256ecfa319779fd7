import HTTPTypes

/// Every path ingest serves (`:id` for a path parameter) with its methods. The router answers 404 for a known
/// path with another method; with this table the error middleware answers 405 with `Allow` instead, for any
/// method at all (TRACE, QUERY, ...). The OpenAPI document's operations are checked against it by a test.
struct RouteTable: Sendable {
    let routes: [(path: String, methods: [HTTPRequest.Method])]

    /// The methods a request path is served with, or nil when no route has the path. As in the router, a
    /// route whose segment is the path's own word wins over one with a parameter there (`/v1/tasks/split`
    /// is not `/v1/tasks/:id`).
    func methods(for path: Substring) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (words: Int, methods: [HTTPRequest.Method])?
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard pattern.count == segments.count,
                zip(pattern, segments).allSatisfy({ $0.hasPrefix(":") || $0 == $1 })
            else { continue }
            let words = pattern.filter { !$0.hasPrefix(":") }.count
            if best == nil || words > best!.words {
                best = (words, route.methods)
            } else if words == best!.words {
                best!.methods += route.methods
            }
        }
        return best?.methods
    }
}

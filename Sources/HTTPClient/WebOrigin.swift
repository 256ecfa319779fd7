import Foundation

/// `scheme://host[:port]` of an http or https URL: the origin a browser names (a token's `azp`, a page's
/// `form-action`); nil for anything else.
public func webOrigin(of url: String) -> String? {
    guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
        ["http", "https"].contains(scheme), let host = parts.host, !host.isEmpty
    else { return nil }
    return "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? "")
}

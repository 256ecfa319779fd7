import HTTPTypes
import Hummingbird

extension Router {
    /// Answers 405, with `Allow`, for the methods `path` does not serve (the router alone would say 404).
    func refuseOtherMethods(_ path: RouterPath, allowed: [HTTPRequest.Method]) {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] where !allowed.contains(method) {
            on(path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allow)",
                    headers: [.allow: allow])
            }
        }
    }
}

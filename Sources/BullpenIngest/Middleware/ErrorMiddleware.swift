import Hummingbird
import Logging

/// Gives every error the project's JSON shape (``APIError``): the router's own 404, errors from Hummingbird
/// and its middleware, and anything a route did not expect (a 500 that logs the cause and shows none of it).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// For 405: a path the router does not serve with the request's method, but with others.
    let routes: RouteTable

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = routes.methods(for: request.uri.path[...]) {
                let allow = allowed.map(\.rawValue).joined(separator: ", ")
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allow)",
                    headers: [.allow: allow])
            }
            throw APIError(error.status, error.body ?? Self.message(for: error.status, request), headers: error.headers)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, Self.message(for: error.status, request))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, "internal error; the request may be retried")
        }
    }

    static func message(for status: HTTPResponse.Status, _ request: Request) -> String {
        switch status {
        case .notFound: return "no route for \(request.method) \(request.uri.path)"
        default: return status.reasonPhrase.lowercased()
        }
    }
}

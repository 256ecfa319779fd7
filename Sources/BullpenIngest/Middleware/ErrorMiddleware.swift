import Hummingbird
import Logging

/// Gives every error the project's JSON shape (``APIError``): the router's own 404, errors from Hummingbird
/// and its middleware, and anything a route did not expect (a 500 that logs the cause and shows none of it).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
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

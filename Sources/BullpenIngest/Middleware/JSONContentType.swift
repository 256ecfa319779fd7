import Foundation
import Hummingbird

/// Refuses, with 415, a request whose body is not declared as JSON (`Content-Type: application/json`, or a
/// `+json` type), before anything reads it.
struct JSONContentType<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try Self.require(request)
        return try await next(request, context)
    }

    /// 415 unless the request declares a JSON body.
    static func require(_ request: Request) throws {
        let declared = request.headers[.contentType]
        guard let declared, isJSON(declared) else {
            throw APIError(
                .unsupportedMediaType,
                "send the body as Content-Type: application/json (got \(declared.map { "'\($0.prefix(100))'" } ?? "none"))"
            )
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }  // the common case, without the parsing below
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        let type = mediaType.trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }
}

import BullpenDomain
import Foundation
import HTTPTypes
import Hummingbird
import PostgreSQL

/// An error answer, one shape everywhere: `{"error": {"code": "...", "message": "...", "field": "..."}}`.
/// `code` is stable for programs to branch on; `message` says why, for people, and never echoes credentials
/// or internal details; `field` names the JSON field at fault, when one is. Routes, middleware and the
/// connection layer all answer with it.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    public var extraHeaders: HTTPFields

    /// `code` defaults to the status's (``defaultCode(for:)``).
    public init(
        _ status: HTTPResponse.Status, _ message: String, code: String? = nil, field: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code ?? Self.defaultCode(for: status)
        self.message = message
        self.field = field
        self.extraHeaders = headers
    }

    /// The JSON body.
    public var body: [UInt8] {
        (try? JSONBody.encode(Body(error: .init(code: code, message: message, field: field)))) ?? []
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        .json(status, Body(error: .init(code: code, message: message, field: field)), headers: extraHeaders)
    }

    /// The wire shape (a missing `field` is left out, not `null`).
    struct Body: Codable, Equatable {
        struct Detail: Codable, Equatable {
            let code: String
            let message: String
            let field: String?
        }
        let error: Detail
    }

    /// The code of a status, where no more precise one is given.
    public static func defaultCode(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: return "invalid_request"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 405: return "method_not_allowed"
        case 408: return "request_timeout"
        case 409: return "conflict"
        case 413: return "body_too_large"
        case 415: return "unsupported_media_type"
        case 429: return "rate_limited"
        case 431: return "headers_too_large"
        case 503: return "unavailable"
        case 500..<600: return "internal"
        default: return "error_\(status.code)"
        }
    }
}

extension APIError {
    /// The answer to a database error: 503 when the database could not be reached (retrying is right), 500
    /// when it refused a statement (a defect: retrying gives the same).
    static func database(_ error: any Error) -> APIError {
        if let error = error as? PGError, !error.isConnectionFailure {
            return APIError(.internalServerError, "internal error; the request may be retried")
        }
        return databaseUnavailable
    }

    /// 503: the database did not answer.
    static var databaseUnavailable: APIError {
        APIError(
            .serviceUnavailable, "the database is unavailable; retry later", code: "database_unavailable",
            headers: [.retryAfter: "5"])
    }

    /// 400 for a body or field refused by the domain's checks: `invalid_field` naming the field, or
    /// `invalid_body` when the body as a whole is wrong.
    static func invalid(_ error: ValidationError) -> APIError {
        APIError(
            .badRequest, error.description, code: error.field.isEmpty ? "invalid_body" : "invalid_field",
            field: error.field.isEmpty ? nil : error.field)
    }

    /// 503: the publish was not confirmed. What was sent may or may not have reached the queue, so a retry of
    /// the same request must be (and is) safe.
    static func brokerUnavailable(_ what: String) -> APIError {
        APIError(
            .serviceUnavailable, "the message broker is unavailable; \(what) may or may not have been taken: retry",
            code: "broker_unavailable", headers: [.retryAfter: "5"])
    }
}

extension Response {
    /// A JSON response: the value encoded by the one shared encoder (``JSONBody``).
    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        guard let body = try? JSONBody.encode(value) else {
            return .json(
                .internalServerError,
                APIError.Body(error: .init(code: "internal", message: "the answer could not be encoded", field: nil)))
        }
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

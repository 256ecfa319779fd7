import Foundation
import HTTPTypes
import Hummingbird

/// An error answer with a JSON body `{"error": "...", "field": "..."}` that says why, and never echoes
/// credentials or internal details. Every error Bullpen's HTTP services answer has this shape, whether a
/// route, a middleware or the connection layer raised it.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let field: String?
    public var extraHeaders: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.field = field
        self.extraHeaders = headers
    }

    /// The JSON body.
    public var body: [UInt8] {
        var object: [String: String] = ["error": message]
        if let field { object["field"] = field }
        return Array(
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data())
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = extraHeaders
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Response {
    /// A JSON response from an object of JSON values.
    static func json(_ status: HTTPResponse.Status, _ object: [String: any Sendable]) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

import Hummingbird
import NIOCore

/// Reading a request body with a size limit, answering what went wrong.
enum RequestBody {
    /// The whole body, up to `limit` bytes: 413 when it is (or announces itself) larger, 400 when it ends
    /// before the length its Content-Length announced or cannot be read.
    static func read(_ request: Request, upTo limit: Int) async throws -> [UInt8] {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            if let declared, buffer.readableBytes < declared { throw ShortBody() }
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        } catch {
            if let declared {
                throw APIError(
                    .badRequest, "the body ended before the \(declared) bytes its Content-Length announced",
                    code: "body_incomplete")
            }
            throw APIError(.badRequest, "the body could not be read to its end", code: "body_incomplete")
        }
    }

    private struct ShortBody: Error {}
}

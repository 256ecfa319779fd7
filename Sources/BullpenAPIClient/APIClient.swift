import BullpenDomain
import Foundation
import HTTPClient

/// What went wrong talking to the operator API.
public struct APIClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// `wait` gave up before the command finished.
        case timeout
        /// 401 or 403.
        case auth
        /// No connection, or 503.
        case unreachable
        /// Another 4xx.
        case refused
        /// Another 5xx, or an answer that is not what the API promises.
        case serverError
    }

    public let kind: Kind
    public let description: String
    /// The API's error object (`code`, `message`, `field`), when the API answered with one.
    public let apiError: [String: String]?

    public init(_ kind: Kind, _ description: String, apiError: [String: String]? = nil) {
        self.kind = kind
        self.description = description
        self.apiError = apiError
    }
}

/// The operator API over HTTP (libcurl): JSON in, JSON out, errors as ``CLIFailure``.
///
/// `baseURL` may list several ingests, comma-separated (`http://ingest-1:8080,http://ingest-2:8080`): a request
/// that cannot reach one, or is answered 503 (nothing was taken), goes to the next at once, and the client
/// stays with the one that answered. A command keeps its idempotency key across them, so it is taken once.
public struct APIClient: Sendable {
    /// The ingest answering now (the first of the list until one fails).
    public var baseURL: String { baseURLs[current.value] }
    public let baseURLs: [String]
    public let token: String
    private let current = Current()

    private final class Current: @unchecked Sendable {
        private let lock = NSLock()
        private var index = 0
        var value: Int {
            get { lock.withLock { index } }
            set { lock.withLock { index = newValue } }
        }
    }

    public init(baseURL: String, token: String) {
        baseURLs = baseURL.split(separator: ",").map { url in
            let trimmed = url.trimmingCharacters(in: .whitespaces)
            return trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
        }
        self.token = token
    }

    /// GET a path; the body's JSON object.
    public func get(_ path: String) throws -> [String: Any] {
        try object(send("GET", path, body: nil, contentType: nil, idempotencyKey: nil))
    }

    /// POST a JSON body to a route that answers at once (not a command); the answer's JSON object.
    public func post(_ path: String, _ body: [String: Any]) throws -> [String: Any] {
        let bytes = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return try object(
            send("POST", path, body: Array(bytes), contentType: "application/json", idempotencyKey: nil))
    }

    /// Sends a command with an idempotency key (a fresh one unless given), retried with the same key while
    /// ingest answers 503 or cannot be reached: a retry is the same command, never a second one. Returns the
    /// command id and its status.
    public func command(
        _ method: String, _ path: String, _ body: [String: Any], idempotencyKey: String? = nil
    ) throws
        -> (id: String, status: String)
    {
        let bytes = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return try submit(
            method, path, body: Array(bytes), contentType: "application/json", idempotencyKey: idempotencyKey)
    }

    /// Sends a typed command to the route its type names, the path's id taken from the payload; checked
    /// first as the API would check it. Retried as ``command(_:_:_:idempotencyKey:)``.
    public func send(
        _ payload: some CommandPayload, idempotencyKey: String? = nil
    ) throws -> (id: String, status: String) {
        do { try payload.validate() } catch {
            throw APIClientError(
                .refused, "\(error)", apiError: ["code": "invalid", "field": error.field, "message": error.message])
        }
        let route = type(of: payload).route
        return try submit(
            route.method.rawValue, route.path(id: payload.pathID), body: try payload.requestBody(),
            contentType: "application/json", idempotencyKey: idempotencyKey)
    }

    /// Uploads a file as a command (`POST` with the file as the body), retried as ``command(_:_:_:idempotencyKey:)``.
    public func upload(_ path: String, bytes: [UInt8], contentType: String) throws -> (id: String, status: String) {
        try submit("POST", path, body: bytes, contentType: contentType, idempotencyKey: nil)
    }

    private func submit(
        _ method: String, _ path: String, body: [UInt8], contentType: String, idempotencyKey: String?
    ) throws -> (id: String, status: String) {
        let key = idempotencyKey ?? UUID().uuidString
        var delay = 0.2
        for attempt in 1...4 {
            do {
                let reply = try object(
                    send(method, path, body: body, contentType: contentType, idempotencyKey: key))
                guard let id = reply["commandId"] as? String, let status = reply["status"] as? String else {
                    throw APIClientError(.serverError, "the API answered without a command id")
                }
                return (id, status)
            } catch let failure as APIClientError where failure.kind == .unreachable && attempt < 4 {
                Thread.sleep(forTimeInterval: delay)
                delay *= 2
            }
        }
        throw APIClientError(.unreachable, "unreachable")
    }

    /// Follows a command until it is applied or rejected, or `timeout` passes: polls at 2 ms, then ever more
    /// slowly (doubling, up to 200 ms), so a command applied at once is seen at once and a slow one costs
    /// few requests.
    public func wait(for id: String, timeout: Double) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var pause = 0.002
        while true {
            let command = try get("/v1/commands/\(id)")
            if let status = command["status"] as? String, status != "accepted" { return command }
            guard Date() < deadline else {
                throw APIClientError(.timeout, "command \(id) was still accepted (not yet applied) after \(timeout) s")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.2)
        }
    }

    /// One Server-Sent Event of `/v1/events/stream`.
    public struct StreamedEvent {
        /// The event's cursor (opaque): where to resume after it.
        public let id: String
        public let type: String
        /// The event's JSON object.
        public let data: [String: Any]
    }

    /// Follows `/v1/events/stream` from the event after the cursor `after` ("0": the beginning; nil: from now
    /// on), calling `onEvent` for each event until it returns false. A dropped connection is reopened (after
    /// 1 s) with `Last-Event-ID` set to the last event's cursor, so no event is missed or repeated. Auth and
    /// refusals (a revoked token's stream ends, and its reconnect is refused) end it with an error.
    public func followEvents(after: String?, onEvent: @escaping (StreamedEvent) -> Bool) throws {
        var lastID = after
        var parser = EventStreamParser()
        var more = true
        while more {
            var headers: [(name: String, value: String)] = [
                ("Authorization", "Bearer \(token)"), ("Accept", "text/event-stream"),
            ]
            if let lastID { headers.append(("Last-Event-ID", lastID)) }
            parser = EventStreamParser()
            do {
                let response = try CurlClient.stream(
                    HTTPClientRequest(method: "GET", url: baseURL + "/v1/events/stream", headers: headers),
                    idleTimeout: .seconds(60)
                ) { chunk in
                    for event in parser.feed(chunk) {
                        guard let id = event.id, !id.isEmpty,
                            let data = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any]
                        else { continue }
                        lastID = id
                        if !onEvent(StreamedEvent(id: id, type: event.type ?? "message", data: data)) {
                            more = false
                            return false
                        }
                    }
                    return true
                }
                if !(200..<300).contains(response.status) && response.status != 0 {
                    throw Self.failure(status: response.status, message: "HTTP \(response.status)")
                }
            } catch let error as APIClientError where error.kind != .unreachable {
                throw error
            } catch {
                // The stream dropped or ingest is away: reconnect from the last event seen.
            }
            if more { Thread.sleep(forTimeInterval: 1) }
        }
    }

    private static func failure(status: Int, message: String, apiError: [String: String]? = nil) -> APIClientError {
        switch status {
        case 401, 403: return APIClientError(.auth, message, apiError: apiError)
        case 503: return APIClientError(.unreachable, message, apiError: apiError)
        case 500...: return APIClientError(.serverError, message, apiError: apiError)
        default: return APIClientError(.refused, message, apiError: apiError)
        }
    }

    private func send(
        _ method: String, _ path: String, body: [UInt8]?, contentType: String?, idempotencyKey: String?
    ) throws
        -> HTTPClientResponse
    {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if !token.isEmpty { headers.append(("Authorization", "Bearer \(token)")) }
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        let start = current.value
        var failures: [String] = []
        for offset in 0..<baseURLs.count {
            let index = (start + offset) % baseURLs.count
            let url = baseURLs[index]
            let response: HTTPClientResponse
            do {
                response = try CurlClient.perform(
                    HTTPClientRequest(
                        method: method, url: url + path, headers: headers, body: body, timeout: .seconds(15)))
            } catch {
                failures.append("cannot reach \(url): \(error)")
                continue
            }
            if response.status == 503, offset < baseURLs.count - 1 {
                failures.append("\(url): \(Self.errorMessage(response))")
                continue
            }
            current.value = index
            guard (200..<300).contains(response.status) else {
                throw Self.failure(
                    status: response.status, message: Self.errorMessage(response), apiError: Self.errorObject(response))
            }
            return response
        }
        throw APIClientError(.unreachable, failures.joined(separator: "; "))
    }

    private func object(_ response: HTTPClientResponse) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw APIClientError(.serverError, "the API answered with something that is not a JSON object")
        }
        return object
    }

    /// The answer's `error` object, its values as text.
    static func errorObject(_ response: HTTPClientResponse) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let error = object["error"] as? [String: Any]
        else { return nil }
        return error.compactMapValues { $0 as? String }
    }

    /// "HTTP 422 unknown_reference (clientId): there is no client 9".
    static func errorMessage(_ response: HTTPClientResponse) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let error = object["error"] as? [String: Any]
        else { return "HTTP \(response.status)" }
        let code = error["code"] as? String ?? "error"
        let field = (error["field"] as? String).map { " (\($0))" } ?? ""
        return "HTTP \(response.status) \(code)\(field): \(error["message"] as? String ?? "")"
    }
}

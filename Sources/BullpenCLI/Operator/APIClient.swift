import ArgumentParser
import Foundation
import HTTPClient

/// How `bullpen` ends when it talks to the API: scripts branch on these (README, "The bullpen CLI").
enum CLIExit: Int32 {
    /// The command was applied, or the read succeeded.
    case ok = 0
    /// The command was rejected (it cannot apply to the rows as they are).
    case rejected = 1
    /// The invocation was wrong (ArgumentParser's usage errors).
    case usage = 2
    /// `--wait` gave up before the command finished.
    case timeout = 3
    /// The token is missing, unknown, expired or revoked (401), or may not do this (403).
    case auth = 4
    /// Ingest could not be reached, or answered 503 to every retry.
    case unreachable = 5
    /// The API refused the request (400, 404, 409, 413, 415, 422).
    case refused = 6
    /// The API failed (another 5xx).
    case serverError = 7
}

/// Where the API is and who calls it: flags, else `BULLPEN_URL` and `BULLPEN_TOKEN`, else the config file
/// (`BULLPEN_CONFIG`, default `~/.config/bullpen/config.json`: `{"url": "...", "token": "..."}`).
struct APIOptions: ParsableArguments {
    @Option(help: "Ingest's base URL (env BULLPEN_URL).")
    var url: String?

    @Option(help: "API token (env BULLPEN_TOKEN).")
    var token: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    func client() throws -> APIClient {
        let file = Self.configFile()
        let environment = ProcessInfo.processInfo.environment
        let url =
            url ?? environment["BULLPEN_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? file["url"]
            ?? "http://127.0.0.1:\(environment["BULLPEN_HTTP_PORT"] ?? "8080")"
        guard let token = token ?? environment["BULLPEN_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) ?? file["token"]
        else {
            throw CLIFailure(
                .auth, "no API token: set BULLPEN_TOKEN, pass --token, or create one with 'bullpen token create'")
        }
        return APIClient(baseURL: url.hasSuffix("/") ? String(url.dropLast()) : url, token: token)
    }

    static func configFile() -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        let path =
            environment["BULLPEN_CONFIG"]
            ?? (environment["HOME"].map { "\($0)/.config/bullpen/config.json" } ?? "")
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object.compactMapValues { $0 as? String }
    }
}

/// A failure with the exit code it ends the process with.
struct CLIFailure: Error, CustomStringConvertible {
    let exit: CLIExit
    let description: String

    init(_ exit: CLIExit, _ description: String) {
        self.exit = exit
        self.description = description
    }
}

/// The operator API over HTTP (libcurl): JSON in, JSON out, errors as ``CLIFailure``.
struct APIClient {
    let baseURL: String
    let token: String

    /// GET a path; the body's JSON object.
    func get(_ path: String) throws -> [String: Any] {
        try object(send("GET", path, body: nil, idempotencyKey: nil))
    }

    /// Sends a command with a fresh idempotency key, retried (with the same key) while ingest answers 503 or
    /// cannot be reached: a retry is the same command, never a second one. Returns the command id and status.
    func command(_ method: String, _ path: String, _ body: [String: Any]) throws -> (id: String, status: String) {
        let key = UUID().uuidString
        let bytes = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var delay = 0.2
        for attempt in 1...4 {
            do {
                let reply = try object(send(method, path, body: Array(bytes), idempotencyKey: key))
                guard let id = reply["commandId"] as? String, let status = reply["status"] as? String else {
                    throw CLIFailure(.serverError, "the API answered without a command id")
                }
                return (id, status)
            } catch let failure as CLIFailure where failure.exit == .unreachable && attempt < 4 {
                Thread.sleep(forTimeInterval: delay)
                delay *= 2
            }
        }
        throw CLIFailure(.unreachable, "unreachable")
    }

    /// Follows a command until it is applied or rejected, or `timeout` passes.
    func wait(for id: String, timeout: Double) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var pause = 0.005
        while true {
            let command = try get("/v1/commands/\(id)")
            if let status = command["status"] as? String, status != "accepted" { return command }
            guard Date() < deadline else {
                throw CLIFailure(.timeout, "command \(id) was still accepted (not yet applied) after \(timeout) s")
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.2)
        }
    }

    private func send(
        _ method: String, _ path: String, body: [UInt8]?, idempotencyKey: String?
    ) throws
        -> HTTPClientResponse
    {
        var headers: [(name: String, value: String)] = [
            ("Authorization", "Bearer \(token)"), ("Accept", "application/json"),
        ]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        let response: HTTPClientResponse
        do {
            response = try CurlClient.perform(
                HTTPClientRequest(
                    method: method, url: baseURL + path, headers: headers, body: body, timeout: .seconds(15)))
        } catch {
            throw CLIFailure(.unreachable, "cannot reach \(baseURL): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let message = Self.errorMessage(response)
            switch response.status {
            case 401, 403: throw CLIFailure(.auth, message)
            case 503: throw CLIFailure(.unreachable, message)
            case 500...: throw CLIFailure(.serverError, message)
            default: throw CLIFailure(.refused, message)
            }
        }
        return response
    }

    private func object(_ response: HTTPClientResponse) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw CLIFailure(.serverError, "the API answered with something that is not a JSON object")
        }
        return object
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

import ArgumentParser
import BullpenAPIClient
import Foundation

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
        return APIClient(baseURL: url, token: token)
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

extension CLIFailure {
    /// The exit code of an API client error.
    init(_ error: APIClientError) {
        switch error.kind {
        case .timeout: self.init(.timeout, error.description)
        case .auth: self.init(.auth, error.description)
        case .unreachable: self.init(.unreachable, error.description)
        case .refused: self.init(.refused, error.description)
        case .serverError: self.init(.serverError, error.description)
        }
    }
}

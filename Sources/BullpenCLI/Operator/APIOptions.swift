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
        let environment = ProcessInfo.processInfo.environment
        let givenURL = url ?? environment["BULLPEN_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let givenToken = token ?? environment["BULLPEN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        // The file is read only for what flags and the environment leave out; when read, it must be right.
        let file = givenURL == nil || givenToken == nil ? try Self.configFile() : ConfigFile(path: "", values: [:])
        let url = givenURL ?? file.values["url"] ?? "http://127.0.0.1:\(environment["BULLPEN_HTTP_PORT"] ?? "8080")"
        guard let token = givenToken ?? file.values["token"] else {
            throw CLIFailure(
                .auth,
                "no API token: set BULLPEN_TOKEN, pass --token, or put {\"token\": ...} in \(file.path) "
                    + "(create one with 'bullpen token create')")
        }
        return APIClient(baseURL: url, token: token)
    }

    /// The config file's path and its values (none when the default file does not exist).
    struct ConfigFile {
        let path: String
        let values: [String: String]
    }

    /// Reads the config file: `BULLPEN_CONFIG`, or `~/.config/bullpen/config.json`. A file that is missing
    /// where `BULLPEN_CONFIG` points, unreadable, not JSON, or with fields other than `url` and `token` (both
    /// strings) is an error that names the file and says why; a missing default file is no file.
    static func configFile() throws -> ConfigFile {
        let environment = ProcessInfo.processInfo.environment
        let named = environment["BULLPEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = named ?? (environment["HOME"].map { "\($0)/.config/bullpen/config.json" } ?? "")
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path) else {
            if let named { throw CLIFailure(.usage, "the config file \(named) (BULLPEN_CONFIG) does not exist") }
            return ConfigFile(path: path.isEmpty ? "~/.config/bullpen/config.json" : path, values: [:])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure(.usage, "the config file \(path) cannot be read (permission denied?)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIFailure(
                .usage,
                "the config file \(path) is not a JSON object; it should be {\"url\": \"...\", \"token\": \"...\"}")
        }
        var values: [String: String] = [:]
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard key == "url" || key == "token" else {
                throw CLIFailure(.usage, "the config file \(path) has \"\(key)\", which is not url or token")
            }
            guard let text = value as? String, !text.isEmpty else {
                throw CLIFailure(.usage, "the config file \(path): \(key) must be a non-empty string")
            }
            values[key] = text
        }
        return ConfigFile(path: path, values: values)
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
    /// A stable code for the failure, as the API's error codes are (for `--json`'s error object).
    var code: String {
        switch exit {
        case .ok: return "ok"
        case .rejected: return "rejected"
        case .usage: return "usage"
        case .timeout: return "timeout"
        case .auth: return "unauthorized"
        case .unreachable: return "unreachable"
        case .refused: return "refused"
        case .serverError: return "server_error"
        }
    }

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

import ArgumentParser
import BullpenStore
import Foundation
import PostgreSQL

/// `bullpen token create|list|revoke`: API tokens. The one administrative command that talks to PostgreSQL
/// directly, so that the first operator token can be made before anything else exists.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens: create (shown once), list, revoke.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it; only its SHA-256 is stored, so it cannot be shown again.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "operator, client or producer.")
        var role: String

        @Option(help: "What the token is for (shown by list).")
        var name: String

        @Option(help: "The client a client token reads for.")
        var client: Int64?

        @Option(help: "Days until the token expires (default: never).")
        var expiresInDays: Int?

        @Flag(help: "Print {id, role, name, clientId, secret} as JSON.") var json = false

        func validate() throws {
            guard ApiTokens.Role(rawValue: role) != nil else {
                throw ValidationError(
                    "--role must be one of \(ApiTokens.Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let expiresInDays, expiresInDays < 1 { throw ValidationError("--expires-in-days must be at least 1") }
        }

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            let expiresAt = expiresInDays.map { Date().addingTimeInterval(Double($0) * 86_400) }
            do {
                let (token, secret) = try ApiTokens.create(
                    name: name, role: ApiTokens.Role(rawValue: role)!, clientID: client, expiresAt: expiresAt, on: db)
                if json {
                    TokenCommand.printJSON(TokenCommand.fields(token).merging(["secret": secret]) { $1 })
                    return
                }
                print(secret)
                FileHandle.standardError.write(
                    Data(
                        "token \(token.id) (\(token.role.rawValue), \"\(token.name)\") created; the line above is its secret, shown once\n"
                            .utf8))
            } catch let error as ApiTokens.RefusedError {
                throw ValidationError(error.description)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token, newest first (never the secrets).")

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Print the tokens as JSON ({\"data\": [...]}).") var json = false

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            let now = Date()
            if json {
                TokenCommand.printJSON(["data": try ApiTokens.list(on: db).map { TokenCommand.fields($0, now: now) }])
                return
            }
            print("id\trole\tclient\tstate\tname")
            for token in try ApiTokens.list(on: db) {
                let state = token.revokedAt != nil ? "revoked" : token.isActive(at: now) ? "active" : "expired"
                print(
                    "\(token.id)\t\(token.role.rawValue)\t\(token.clientID.map(String.init) ?? "-")\t\(state)\t\(token.name)"
                )
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The token's id (from list).")
        var id: Int64

        @Flag(help: "Print {id, state} as JSON.") var json = false

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            guard try ApiTokens.revoke(id: id, on: db) else { throw CLIFailure(.refused, "no active token \(id)") }
            if json { return TokenCommand.printJSON(["id": id, "state": "revoked"]) }
            print("token \(id) revoked")
        }
    }

    /// A token as `--json` shows it (never its secret or hash).
    static func fields(_ token: ApiTokens.Token, now: Date = Date()) -> [String: Any] {
        var fields: [String: Any] = [
            "id": token.id, "role": token.role.rawValue, "name": token.name,
            "state": token.revokedAt != nil ? "revoked" : token.isActive(at: now) ? "active" : "expired",
        ]
        fields["clientId"] = token.clientID
        return fields
    }

    static func printJSON(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }
}

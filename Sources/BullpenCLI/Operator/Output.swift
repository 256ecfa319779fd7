import ArgumentParser
import BullpenAPIClient
import BullpenDomain
import Foundation

/// `--wait` and its timeout, for every command that changes something.
struct WaitOptions: ParsableArguments {
    @Flag(help: "Follow the command until it is applied or rejected (exit 0 or 1).")
    var wait = false

    @Option(help: "Seconds --wait waits before giving up (exit 3).")
    var timeout: Double = 30
}

/// Printing what the API answered: JSON for scripts, tables and lines for people.
enum Output {
    /// Sends a command and reports it; with --wait, follows it to applied (exit 0) or rejected (exit 1).
    static func issue(
        _ method: String, _ path: String, _ body: [String: Any], api: APIOptions, wait: WaitOptions
    ) throws {
        let client = try api.client()
        try follow(try client.command(method, path, body), client: client, api: api, wait: wait)
    }

    /// Sends a typed command to its route (``CommandPayload/route``) and reports it as ``issue(_:_:_:api:wait:)``.
    static func issue(_ payload: some CommandPayload, api: APIOptions, wait: WaitOptions) throws {
        let client = try api.client()
        try follow(try client.send(payload), client: client, api: api, wait: wait)
    }

    /// Prints a submitted command's status, or with --wait follows it to its outcome.
    static func follow(
        _ submitted: (id: String, status: String), client: APIClient, api: APIOptions, wait: WaitOptions
    ) throws {
        let (id, status) = submitted
        guard wait.wait, status == "accepted" else {
            if api.json { printJSON(["commandId": id, "status": status]) } else { print("command \(id) \(status)") }
            if status == "rejected" { throw CLIFailure(.rejected, "command \(id) was rejected") }
            return
        }
        let command = try client.wait(for: id, timeout: wait.timeout)
        if api.json {
            printJSON(command)
        } else if command["status"] as? String == "applied" {
            let result = (command["result"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
            print("applied: " + result.map { "\($0.key) \(text($0.value))" }.joined(separator: ", "))
        }
        if command["status"] as? String == "rejected" {
            throw CLIFailure(.rejected, "rejected: \(command["error"] as? String ?? "no reason given")")
        }
    }

    /// Prints one row (a show) as `field: value` lines, or its JSON.
    static func show(_ object: [String: Any], api: APIOptions, fields: [String]) {
        if api.json { return printJSON(object) }
        let width = fields.map(\.count).max() ?? 0
        for field in fields {
            print(field.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text(object[field]))
        }
    }

    /// Prints a page of a list as a table (with the next page's cursor), or its JSON.
    static func list(_ page: [String: Any], api: APIOptions, columns: [String]) {
        if api.json { return printJSON(page) }
        let rows = (page["data"] as? [[String: Any]] ?? []).map { row in columns.map { text(row[$0]) } }
        table(columns, rows)
        if let next = page["nextCursor"] as? String { print("(more: --cursor \(next))") }
    }

    static func table(_ headers: [String], _ rows: [[String]]) {
        let widths = headers.indices.map { column in
            min(48, ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { cell, width in
                let cut = cell.count > width ? String(cell.prefix(width - 1)) + "…" : cell
                return cut.padding(toLength: width, withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        print(line(headers.map { $0.uppercased() }))
        for row in rows { print(line(row)) }
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let string as String: return string.replacingOccurrences(of: "\n", with: " ")
        case let array as [Any]: return array.isEmpty ? "-" : array.map { text($0) }.joined(separator: ",")
        // JSON's true and false: on Linux a boolean NSNumber (Objective-C type "c"), which stringValue shows as 1, 0.
        case let flag as NSNumber where flag.objCType.pointee == CChar(UInt8(ascii: "c")):
            return flag.boolValue ? "true" : "false"
        case let number as NSNumber: return number.stringValue
        case let object as [String: Any]:
            return String(
                decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(),
                as: UTF8.self)
        default: return "\(value!)"
        }
    }

    static func printJSON(_ object: Any) { print(jsonText(object, pretty: true)) }

    static func jsonText(_ object: Any, pretty: Bool) -> String {
        let options: JSONSerialization.WritingOptions = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A list path with its query string (nil values left out).
    static func path(_ base: String, _ query: [(String, String?)]) -> String {
        let parts = query.compactMap { name, value in
            value.map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" }
        }
        return parts.isEmpty ? base : base + "?" + parts.joined(separator: "&")
    }
}

/// `--limit` and `--cursor` of a list.
struct PageOptions: ParsableArguments {
    @Option(help: "Rows per page (1 to 200).")
    var limit: Int = 50

    @Option(help: "The cursor the previous page printed.")
    var cursor: String?

    var query: [(String, String?)] { [("limit", String(limit)), ("cursor", cursor)] }
}

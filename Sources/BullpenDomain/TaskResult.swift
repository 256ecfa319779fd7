import Foundation

/// An agent's report of how its task went, as posted to `POST /webhooks/agents/task-result`.
///
/// ```json
/// {"taskId": 42, "status": "completed", "output": "the draft ...", "error": null}
/// ```
public struct TaskResultReport: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case completed, failed
    }

    public var taskId: Int64
    public var status: Outcome
    /// The agent's output; required when completed.
    public var output: String?
    /// What went wrong; required when failed.
    public var error: String?

    public init(taskId: Int64, status: Outcome, output: String? = nil, error: String? = nil) {
        self.taskId = taskId
        self.status = status
        self.output = output
        self.error = error
    }

    /// Largest output accepted, in UTF-8 bytes.
    public static let maxOutputBytes = 512 * 1024
    /// Largest error text accepted, in UTF-8 bytes.
    public static let maxErrorBytes = 16 * 1024

    /// Decodes and validates a request body; the error names the field at fault.
    public static func parse(_ body: [UInt8]) throws(ValidationError) -> TaskResultReport {
        let object = try JSONBody.object(body)
        let taskId = try JSONBody.requiredInt64(object, "taskId")
        guard taskId > 0 else { throw ValidationError(field: "taskId", message: "must be a positive integer") }
        let statusText = try JSONBody.requiredString(object, "status")
        guard let status = Outcome(rawValue: statusText) else {
            throw ValidationError(field: "status", message: "must be \"completed\" or \"failed\"")
        }
        let output = try JSONBody.optionalString(object, "output")
        let error = try JSONBody.optionalString(object, "error")
        if status == .completed, (output ?? "").isEmpty {
            throw ValidationError(field: "output", message: "is required when status is completed")
        }
        if status == .failed, (error ?? "").isEmpty {
            throw ValidationError(field: "error", message: "is required when status is failed")
        }
        if let output, output.utf8.count > maxOutputBytes {
            throw ValidationError(field: "output", message: "is longer than \(maxOutputBytes) bytes")
        }
        if let error, error.utf8.count > maxErrorBytes {
            throw ValidationError(field: "error", message: "is longer than \(maxErrorBytes) bytes")
        }
        let known: Set<String> = ["taskId", "status", "output", "error"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError(field: unknown, message: "is not a known field")
        }
        return TaskResultReport(taskId: taskId, status: status, output: output, error: error)
    }
}

/// The review queue's message for a task result: the report plus the attempt it belongs to.
public struct TaskResultMessage: Sendable, Equatable, Codable {
    public static let type = "task.result"
    public static let schemaVersion = 1

    public var schema: Int
    public var taskId: Int64
    public var attempt: Int
    public var status: TaskResultReport.Outcome
    public var output: String?
    public var error: String?
    /// When ingest accepted the report (ms since the epoch).
    public var receivedAt: Int64

    public init(report: TaskResultReport, attempt: Int, receivedAt: Int64) {
        schema = Self.schemaVersion
        taskId = report.taskId
        self.attempt = attempt
        status = report.status
        output = report.output
        error = report.error
        self.receivedAt = receivedAt
    }

    /// Deterministic per task attempt, so a result reported twice is applied once.
    public var messageID: String { Self.messageID(taskId: taskId, attempt: attempt) }

    public static func messageID(taskId: Int64, attempt: Int) -> String { "task-result:\(taskId):\(attempt)" }
}

/// A request body field that is missing or wrong.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON field at fault ("" for the body as a whole).
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field) \(message)" }
}

/// Field-by-field reading of a JSON object, so errors can name the field.
public enum JSONBody {
    public static func object(_ body: [UInt8]) throws(ValidationError) -> [String: Any] {
        guard !body.isEmpty else { throw ValidationError(field: "", message: "the body is empty; send a JSON object") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw ValidationError(field: "", message: "the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw ValidationError(field: "", message: "the body must be a JSON object")
        }
        return object
    }

    public static func requiredInt64(_ object: [String: Any], _ field: String) throws(ValidationError) -> Int64 {
        guard let value = object[field], !(value is NSNull) else {
            throw ValidationError(field: field, message: "is required")
        }
        guard let number = value as? NSNumber, !isBool(number), let exact = Int64(exactly: number.doubleValue),
            Double(exact) == number.doubleValue
        else {
            throw ValidationError(field: field, message: "must be an integer")
        }
        return exact
    }

    public static func requiredString(_ object: [String: Any], _ field: String) throws(ValidationError) -> String {
        guard let value = object[field], !(value is NSNull) else {
            throw ValidationError(field: field, message: "is required")
        }
        guard let text = value as? String else { throw ValidationError(field: field, message: "must be a string") }
        return text
    }

    public static func optionalString(_ object: [String: Any], _ field: String) throws(ValidationError) -> String? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw ValidationError(field: field, message: "must be a string") }
        return text
    }

    private static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true))
    }
}

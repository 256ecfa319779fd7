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

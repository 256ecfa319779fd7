import Foundation

/// An agent's report of how its task went, as posted to `POST /webhooks/agents/task-result`.
///
/// ```json
/// {"taskId": 42, "status": "completed", "output": "the draft ...", "error": null,
///  "artifacts": [{"fileId": "sha256-...", "name": "chart.png", "contentType": "image/png", "sizeBytes": 5120}]}
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
    /// Files the agent uploaded (`POST /webhooks/agents/files`), as that upload answered: they become the
    /// deliverable version's files.
    public var artifacts: [Artifact]?

    /// A file the agent made, in the file store.
    public struct Artifact: Sendable, Equatable, Codable {
        public var fileId: String
        public var name: String
        public var contentType: String
        public var sizeBytes: Int64

        public init(fileId: String, name: String, contentType: String, sizeBytes: Int64) {
            self.fileId = fileId
            self.name = name
            self.contentType = contentType
            self.sizeBytes = sizeBytes
        }

        /// The file as it joins deliverable version `id`.
        public func file(of id: Int64) -> DeliverableFile {
            DeliverableFile(id: id, fileId: fileId, name: name, contentType: contentType, sizeBytes: sizeBytes)
        }
    }

    public init(
        taskId: Int64, status: Outcome, output: String? = nil, error: String? = nil, artifacts: [Artifact]? = nil
    ) {
        self.taskId = taskId
        self.status = status
        self.output = output
        self.error = error
        self.artifacts = artifacts
    }

    /// The bytes a report's digest is taken of: its status, output and error, each followed by U+001F (the
    /// store takes the same digest in SQL as it settles the attempt). Two reports with equal digests say the
    /// same thing; a repeat of the same report is a replay, another one a conflict.
    public var digestInput: [UInt8] {
        Array((status.rawValue + "\u{1F}" + (output ?? "") + "\u{1F}" + (error ?? "")).utf8)
    }

    /// Most artifacts a result may carry.
    public static let maxArtifacts = 20

    /// Largest output accepted, in UTF-8 bytes.
    public static let maxOutputBytes = 512 * 1024
    /// Largest error text accepted, in UTF-8 bytes.
    public static let maxErrorBytes = 16 * 1024

    /// Decodes and validates a request body; the error names the field at fault.
    public static func parse(_ body: [UInt8]) throws(ValidationError) -> TaskResultReport {
        let object = try JSONBody.object(body)
        let taskId = try JSONBody.requiredID(object, "taskId")
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
        let known: Set<String> = ["taskId", "status", "output", "error", "artifacts"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError(field: unknown, message: "is not a known field")
        }
        return TaskResultReport(
            taskId: taskId, status: status, output: output, error: error, artifacts: try artifacts(object["artifacts"]))
    }

    /// `artifacts`: at most ``maxArtifacts`` objects of `fileId`, `name`, `contentType`, `sizeBytes`, each as a
    /// deliverable's file must be; an error names the element's field (`artifacts[1].name`).
    static func artifacts(_ value: Any?) throws(ValidationError) -> [Artifact]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let items = value as? [Any], items.count <= maxArtifacts else {
            throw ValidationError(field: "artifacts", message: "must be an array of at most \(maxArtifacts) files")
        }
        var artifacts: [Artifact] = []
        for (index, item) in items.enumerated() {
            let field = "artifacts[\(index)]"
            guard let object = item as? [String: Any] else {
                throw ValidationError(field: field, message: "must be an object")
            }
            do throws(ValidationError) {
                guard let size = object["sizeBytes"] as? Int else {
                    throw ValidationError(field: "sizeBytes", message: "must be an integer")
                }
                let artifact = Artifact(
                    fileId: try JSONBody.requiredString(object, "fileId"),
                    name: try JSONBody.requiredString(object, "name"),
                    contentType: try JSONBody.requiredString(object, "contentType"), sizeBytes: Int64(size))
                try artifact.file(of: 1).validate()
                artifacts.append(artifact)
            } catch {
                throw ValidationError(field: field + "." + error.field, message: error.message)
            }
        }
        return artifacts
    }
}

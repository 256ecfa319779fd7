import BullpenDomain
import Foundation
import Logging

/// The gateway's word on how a run ended, turned into the task's result when the agent's own report did not
/// come: a run that ended ok becomes a completed result with the final reply's text after a grace period (for
/// the agent's callback, which carries the real output); a run that ended in error or timeout becomes a
/// failed result at once. Either is the same message as the callback (`task-result:<task>:<attempt>`), so
/// whichever comes second is a no-op (the inbox), and an attempt settled already stays as it is.
public struct RunOutcomes: Sendable {
    let grace: Duration
    let publish: @Sendable (TaskResultMessage) async throws -> Void
    let logger: Logger

    public init(
        grace: Duration = .seconds(30), logger: Logger,
        publish: @escaping @Sendable (TaskResultMessage) async throws -> Void
    ) {
        self.grace = grace
        self.publish = publish
        self.logger = logger
    }

    /// The result a final reply stands for; nil for a run id Bullpen did not make.
    public static func result(of final: RunFinal, now: Date = Date()) -> TaskResultMessage? {
        guard let (task, attempt) = RunID.parse(final.runID) else { return nil }
        let report: TaskResultReport
        if final.status == "ok" {
            report = TaskResultReport(
                taskId: task, status: .completed, output: final.text ?? final.summary ?? "", error: nil)
        } else {
            report = TaskResultReport(
                taskId: task, status: .failed, output: nil,
                error: "the run ended with status \(final.status)" + (final.summary.map { ": \($0)" } ?? ""))
        }
        return TaskResultMessage(report: report, attempt: attempt, receivedAt: Int64(now.timeIntervalSince1970 * 1000))
    }

    public func handle(_ final: RunFinal) async {
        guard let message = Self.result(of: final) else { return }
        if final.status == "ok" { try? await Task.sleep(for: grace) }
        do {
            try await publish(message)
        } catch {
            logger.warning(
                "the result of a finished run could not be published; the stuck-attempt check will find it",
                metadata: ["run": "\(final.runID)", "error": "\(error)"])
        }
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// An operator talking to a running task's agent: the `task.message` and `task.abort` commands. Each checks
/// the task runs (its row locked) and records what the operator did in the audit log; the command's applier
/// hands the gateway's part (``SessionRequest``) to the dispatch workers through the outbox, and for an abort
/// the attempt's failure (``abortResult(_:reason:now:)``) too.
public enum TaskSessions {
    /// A running task's open attempt.
    public struct Running: Sendable, Equatable {
        public let taskID: Int64
        public let projectID: Int64?
        public let agentID: Int64?
        public let attempt: Int
        public let sessionKey: String
    }

    /// The running task's open attempt, its row locked; a rejection saying why when it does not run.
    public static func running(_ taskID: Int64, in tx: PGConnection) throws -> Running {
        guard
            let row = try tx.query(
                """
                SELECT t.status, t.project_id, t.assigned_agent_id, a.attempt, a.session_key
                  FROM tasks t LEFT JOIN task_attempts a ON a.task_id = t.id AND a.attempt = t.attempt
                                                         AND a.closed_at IS NULL
                 WHERE t.id = $1 FOR UPDATE OF t
                """, [taskID]
            ).first
        else { throw CommandRejection("there is no task \(taskID)") }
        let status: String = try row.decode("status")
        guard status == TaskStatus.running.rawValue, let attempt = try row.decode("attempt", as: Int?.self),
            let sessionKey = try row.decode("session_key", as: String?.self)
        else {
            throw CommandRejection(
                "task \(taskID) is \(status), not running: only a running task's agent has a session to talk to")
        }
        return Running(
            taskID: taskID, projectID: try row.decode("project_id", as: Int64?.self),
            agentID: try row.decode("assigned_agent_id", as: Int64?.self), attempt: attempt, sessionKey: sessionKey)
    }

    /// The ref of a command's session request: its command id (letters, digits and `_` only).
    public static func ref(of messageID: String) -> String {
        String(
            messageID.replacingOccurrences(of: "command:", with: "").unicodeScalars.filter {
                CharacterSet.alphanumerics.contains($0) || $0 == "_"
            }.map(Character.init))
    }

    /// `task.message`: the session request that carries the message to the run's session.
    public static func message(
        _ command: TaskAgentMessage, messageID: String, in tx: PGConnection
    ) throws -> SessionRequest {
        let run = try running(command.id, in: tx)
        let ref = ref(of: messageID)
        let excerpt = command.message.count > 200 ? String(command.message.prefix(200)) + "…" : command.message
        try EventLog.record(
            "task.operator_message", "An operator wrote to task \(command.id)'s agent (ref \(ref)): \(excerpt)",
            data: try json(["ref": ref, "attempt": run.attempt, "characters": command.message.count]),
            about: .init(projectID: run.projectID, taskID: run.taskID, agentID: run.agentID), messageID: messageID,
            in: tx)
        return SessionRequest(
            action: .send, taskId: run.taskID, attempt: run.attempt, sessionKey: run.sessionKey, text: command.message,
            ref: ref)
    }

    /// `task.abort`: the attempt's result (failed with the operator's reason, final) and the session request
    /// that aborts the run on the gateway.
    public static func abort(
        _ command: TaskAbort, messageID: String, now: Date, in tx: PGConnection
    ) throws -> (result: TaskResultMessage, request: SessionRequest) {
        let run = try running(command.id, in: tx)
        let ref = ref(of: messageID)
        let reason = "aborted by an operator" + (command.reason.map { ": \($0)" } ?? "")
        try EventLog.record(
            "task.abort_requested", "Task \(command.id)'s run (attempt \(run.attempt)) \(reason)",
            data: try json(["ref": ref, "attempt": run.attempt]),
            about: .init(projectID: run.projectID, taskID: run.taskID, agentID: run.agentID), messageID: messageID,
            in: tx)
        var result = TaskResultMessage(
            report: TaskResultReport(taskId: run.taskID, status: .failed, output: nil, error: reason),
            attempt: run.attempt, receivedAt: Int64(now.timeIntervalSince1970 * 1000), priority: 5)
        result.aborted = true
        return (
            result,
            SessionRequest(
                action: .abort, taskId: run.taskID, attempt: run.attempt, sessionKey: run.sessionKey, ref: ref)
        )
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

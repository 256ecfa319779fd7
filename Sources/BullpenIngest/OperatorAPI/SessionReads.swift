import BullpenDomain
import BullpenStore
import Foundation
import Hummingbird
import OpenClaw
import PostgreSQL

/// `GET /v1/tasks/{id}/session?limit=` (operators): the transcript of the task's latest run on the gateway
/// (`chat.history`), as `{"taskId", "attempt", "sessionKey", "messages": [{"role", "text"}]}`. Each read is
/// recorded in the audit log (`task.session_read`, naming the token), as the commands that talk to the run
/// are. 404 for a task with no run; 503 when ingest has no gateway connection, it is down (at once), or the
/// gateway does not answer within 10 s.
struct SessionReads {
    let api: OperatorAPI

    struct Transcript: Encodable {
        struct Line: Encodable {
            let role: String
            let text: String
        }
        let taskId: Int64
        let attempt: Int
        let sessionKey: String
        let messages: [Line]
    }

    func read(task id: Int64, limit: Int, caller: Caller) async throws -> Response {
        Response.json(.ok, try await transcript(task: id, limit: limit, caller: caller))
    }

    /// The transcript, its read recorded; an ``APIError`` saying why when it cannot be read.
    func transcript(task id: Int64, limit: Int, caller: Caller) async throws -> Transcript {
        guard let gateway = api.gateway else {
            throw APIError(
                .serviceUnavailable,
                "this ingest has no gateway connection (BULLPEN_GATEWAY_TOKEN): a task's session cannot be read here")
        }
        let run: (attempt: Int, sessionKey: String)?
        do {
            run = try await api.database.run { db in
                try db.query(
                    """
                    SELECT attempt, session_key FROM task_attempts
                     WHERE task_id = $1 AND session_key IS NOT NULL ORDER BY attempt DESC LIMIT 1
                    """, [id]
                ).first.map { (try $0.decode("attempt"), try $0.decode("session_key")) }
            }
        } catch { throw APIError.database(error) }
        guard let run else { throw APIError(.notFound, "task \(id) has no run with a session") }
        // A gateway away is said at once, not after the request's timeout.
        let status = gateway.status
        guard status.connected else {
            throw APIError(
                .serviceUnavailable,
                "the gateway is not connected" + (status.lastError.map { " (\($0))" } ?? "") + "; try again later")
        }
        let history: JSONValue
        do {
            history = try await gateway.request(
                "chat.history", ["sessionKey": .string(run.sessionKey), "limit": .number(Double(limit))],
                timeout: .seconds(10))
        } catch {
            throw APIError(.serviceUnavailable, "the gateway did not answer: \(error)")
        }
        let messages = (history["messages"]?.array ?? []).map { message in
            Transcript.Line(role: message["role"]?.string ?? "?", text: Self.text(of: message))
        }
        let tokenID = caller.tokenID
        do {
            try await api.database.run { db in
                try EventLog.record(
                    "task.session_read",
                    "An operator (token \(tokenID)) read task \(id)'s session (attempt \(run.attempt), \(messages.count) messages)",
                    about: .init(taskID: id), messageID: nil, in: db)
                return ()
            }
        } catch { throw APIError.database(error) }
        return Transcript(taskId: id, attempt: run.attempt, sessionKey: run.sessionKey, messages: messages)
    }

    /// A transcript message's text: its text parts joined, or its content when that is a string; a run's
    /// callback token (the prompt carries it, and it opens the run's result while the attempt is open) is
    /// hidden.
    static func text(of message: JSONValue) -> String {
        let text =
            message["content"]?.string
            ?? (message["content"]?.array ?? []).compactMap { $0["text"]?.string }.joined(separator: "\n")
        return text.replacingOccurrences(
            of: #"cb_[A-Za-z0-9_\-]+"#, with: "cb_… (hidden)", options: .regularExpression)
    }
}

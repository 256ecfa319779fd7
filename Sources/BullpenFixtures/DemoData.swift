import Crypto
import Foundation
import PostgreSQL

/// Rows for the demo and the tests: a small but complete chain client -> project -> agent -> running task.
public enum DemoData {
    public struct Seeded: Sendable {
        public let taskID: Int64
        public let attempt: Int
        public let agentID: Int64
    }

    /// A random callback token (32 bytes, hex).
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Inserts a running task whose attempt 1 is open with `token`'s hash.
    public static func seedRunningTask(token: String, priority: Int = 3, on db: PGConnection) throws -> Seeded {
        try db.transaction { tx in
            let suffix = randomToken().prefix(12)
            let client: Int64 = try tx.query(
                "INSERT INTO clients (name, email, plan) VALUES ($1, $2, 'pro') RETURNING id",
                ["Demo Client \(suffix)", "demo-\(suffix)@example.com"]
            ).first!.decode("id")
            let project: Int64 = try tx.query(
                "INSERT INTO projects (client_id, name, type, status, tier, priority) VALUES ($1, 'Launch copy', 'content', 'active', 'pro', 3) RETURNING id",
                [client]
            ).first!.decode("id")
            let agent: Int64 = try tx.query(
                "INSERT INTO agents (name, status, specialization, session_key) VALUES ($1, 'busy', 'writer', $2) RETURNING id",
                ["writer-\(suffix)", "agent:writer:\(suffix)"]
            ).first!.decode("id")
            let task: Int64 = try tx.query(
                """
                INSERT INTO tasks (title, status, project_id, assigned_agent_id, priority, task_type,
                                   required_specialization, started_at, attempt, dispatched_session_key)
                VALUES ('Draft the launch announcement', 'running', $1, $2, $3, 'draft', 'writer', now(), 1, $4)
                RETURNING id
                """, [project, agent, priority, "agent:writer:bullpen:\(suffix)"]
            ).first!.decode("id")
            try tx.query(
                """
                INSERT INTO task_attempts (task_id, attempt, run_id, callback_token_hash, agent_id, session_key)
                VALUES ($1, 1, $2, $3, $4, $5)
                """,
                [
                    task, "bullpen-\(task)-1", PGBytes(Array(SHA256.hash(data: Array(token.utf8)))), agent,
                    "agent:writer:bullpen:\(suffix)",
                ])
            return Seeded(taskID: task, attempt: 1, agentID: agent)
        }
    }
}

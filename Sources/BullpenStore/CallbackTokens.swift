import PostgreSQL

/// Per-dispatch callback tokens: only their SHA-256 is stored, on the task attempt.
public enum CallbackTokens {
    /// The open attempt a token belongs to.
    public struct Attempt: Sendable, Equatable {
        public let taskID: Int64
        public let attempt: Int
        /// The task's priority (1...5), carried on to the result message.
        public let priority: Int
    }

    /// Finds the open attempts of many token hashes in one query (keyed by hash).
    public static func openAttempts(tokenHashes: [[UInt8]], on db: PGConnection) throws -> [[UInt8]: Attempt] {
        db.prepare("tokens.open_attempts", """
            SELECT a.callback_token_hash, a.task_id, a.attempt, t.priority
              FROM task_attempts a JOIN tasks t ON t.id = a.task_id
             WHERE a.callback_token_hash = ANY($1::bytea[]) AND a.closed_at IS NULL
            """)
        let rows = try db.executePrepared("tokens.open_attempts", [PGArray(tokenHashes.map { PGBytes($0).pgText })]).rows
        var found: [[UInt8]: Attempt] = [:]
        for row in rows {
            found[try row.decode("callback_token_hash", as: PGBytes.self).bytes] = Attempt(
                taskID: try row.decode("task_id"), attempt: try row.decode("attempt"), priority: try row.decode("priority"))
        }
        return found
    }
}

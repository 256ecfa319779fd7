import PostgreSQL

/// Per-dispatch callback tokens: only their SHA-256 is stored, on the task attempt.
public enum CallbackTokens {
    /// The task attempt a token belongs to.
    public struct Attempt: Sendable, Equatable {
        public let taskID: Int64
        public let attempt: Int
        /// The task's priority (1...5), carried on to the result message.
        public let priority: Int
        /// Why the attempt closed (`completed`, `failed`, `timeout` ...), or nil while it is open.
        public let outcome: String?
        /// The SHA-256 of the result that closed it (``TaskResultReport/digestInput``); nil while open, or for an
        /// attempt closed before digests were kept.
        public let reportDigest: [UInt8]?

        public init(taskID: Int64, attempt: Int, priority: Int, outcome: String?, reportDigest: [UInt8]? = nil) {
            self.taskID = taskID
            self.attempt = attempt
            self.priority = priority
            self.outcome = outcome
            self.reportDigest = reportDigest
        }
    }

    /// Finds the attempts of many token hashes in one query (keyed by hash), open or closed: a closed one
    /// still answers an agent that repeats a result already applied.
    public static func attempts(tokenHashes: [[UInt8]], on db: PGConnection) throws -> [[UInt8]: Attempt] {
        db.prepare(
            "tokens.attempts",
            """
            SELECT a.callback_token_hash, a.task_id, a.attempt, t.priority, a.outcome, a.report_digest
              FROM task_attempts a JOIN tasks t ON t.id = a.task_id
             WHERE a.callback_token_hash = ANY($1::bytea[])
            """)
        let rows = try db.executePrepared("tokens.attempts", [PGArray(tokenHashes.map { PGBytes($0).pgText })]).rows
        var found: [[UInt8]: Attempt] = [:]
        for row in rows {
            found[try row.decode("callback_token_hash", as: PGBytes.self).bytes] = Attempt(
                taskID: try row.decode("task_id"), attempt: try row.decode("attempt"),
                priority: try row.decode("priority"), outcome: try row.decode("outcome", as: String?.self),
                reportDigest: try row.decode("report_digest", as: PGBytes?.self)?.bytes)
        }
        return found
    }
}

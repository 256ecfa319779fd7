import Foundation
import PostgreSQL

/// The cron_runs table: one row per job and tick, whose primary key makes a tick run once across every
/// worker process.
enum CronRuns {
    /// Takes the tick's advisory lock without waiting; false when another process holds it right now.
    static func tryLock(job: String, tick: Date, in tx: PGConnection) throws -> Bool {
        try tx.query(
            "SELECT pg_try_advisory_xact_lock(hashtext('bullpen.cron.' || $1), $2::int) AS locked",
            [job, Int(tick.timeIntervalSince1970) % Int(Int32.max)]
        ).first!.decode("locked")
    }

    /// Inserts the `(job, tick)` row; false when some process already has.
    static func claim(job: String, tick: Date, worker: String, in tx: PGConnection) throws -> Bool {
        try tx.query(
            "INSERT INTO cron_runs (job, tick, worker) VALUES ($1, $2, $3) ON CONFLICT (job, tick) DO NOTHING",
            [job, tick, worker]
        ).rowsAffected == 1
    }

    /// Records how the claimed run ended.
    static func finish(job: String, tick: Date, error: String?, in tx: PGConnection) throws {
        try tx.query(
            """
            UPDATE cron_runs SET status = CASE WHEN $3::text IS NULL THEN 'succeeded' ELSE 'failed' END,
                   finished_at = now(), error = $3
             WHERE job = $1 AND tick = $2
            """, [job, tick, error.map { String($0.prefix(1000)) }])
    }
}

import PostgreSQL

/// One versioned step of the schema. Migrations are never edited once released: add a new one.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Every migration this binary knows, in order.
    public static let all: [Migration] = [
        v001CoreSchema, v002SystemTables, v003OutboxNotify, v004OutboxQueue, v005DeadLetterReplay, v006DispatchQueue,
        v007AttemptDeadline, v008Notifications, v009SLATasks, v010ClientChatHooks, v011DeliverableFiles,
        v012Billing, v013SlackChannels, v014EventFeed, v015ResultDigest, v016IntakeConfirmation, v017AgentLiveness,
        v018CancelledWith, v019ProjectWorkIndexes, v020WebSignIn, v021ClerkSignIn, v022ClientHistory, v023AlertRoutes,
        v024TaskEscalation, v025DispatchWaits, v026AgentFailing, v027RunOptions, v028DiscordChannels, v029ClientRollups,
    ]

    /// FNV-1a of the SQL text: detects a migration changed after it was applied.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// Why `bullpen migrate` refused to run.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Applies ``Migration/all`` to a database, each in its own transaction, under an advisory lock so that
/// several processes may run it at once. Running it again is harmless.
public struct Migrator {
    public let migrations: [Migration]

    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        /// Versions applied by this run.
        public var applied: [Int]
        /// The schema version after the run.
        public var currentVersion: Int
    }

    /// Brings the schema up to date. Throws, changing nothing, when the database is newer than this binary
    /// or an applied migration's text differs from the binary's.
    @discardableResult
    public func run(on db: PGConnection) throws -> Report {
        if let schema = db.configuration.searchPath?.split(separator: ",").first {
            try db.execute("CREATE SCHEMA IF NOT EXISTS \(PGConnection.quoteIdentifier(String(schema).trimmed))")
        }
        try db.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            let didApply = try db.transaction { tx -> Bool in
                // One migrator per schema at a time; the lock ends with the transaction.
                try tx.query("SELECT pg_advisory_xact_lock(hashtext('bullpen.migrate.' || current_schema()))")
                try checkCompatible(tx)
                let existing = try tx.query(
                    "SELECT checksum FROM schema_migrations WHERE version = $1", [migration.version])
                if let row = existing.first {
                    let checksum: String = try row.decode("checksum")
                    guard checksum == migration.checksum else {
                        throw MigrationError(
                            description:
                                "migration \(migration.version) (\(migration.name)) was changed after it was applied")
                    }
                    return false
                }
                try tx.execute(migration.sql)
                try tx.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum])
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return Report(applied: applied, currentVersion: try currentVersion(on: db))
    }

    /// The highest version recorded in the database (0 for an empty one).
    public func currentVersion(on db: PGConnection) throws -> Int {
        let result = try db.query("SELECT coalesce(max(version), 0) AS version FROM schema_migrations")
        return try result.first?.decode("version") ?? 0
    }

    private func checkCompatible(_ db: PGConnection) throws {
        let known = migrations.map(\.version).max() ?? 0
        let current = try currentVersion(on: db)
        if current > known {
            throw MigrationError(
                description:
                    "the database schema is at version \(current), newer than this bullpen binary knows (\(known)); "
                    + "run a newer bullpen, or restore a database that matches this one")
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

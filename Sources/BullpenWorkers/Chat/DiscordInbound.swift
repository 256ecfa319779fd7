import BullpenDomain
import BullpenMessaging
import Discord
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle
import Synchronization

/// Messages from clients' Discord channels, in the worker: one Discord Gateway connection per deployment
/// (``DiscordGatewayClient``), held by whichever worker holds a PostgreSQL advisory lock (session-level, on
/// a connection of its own: if that worker dies, its connection closes, the lock frees, and another worker's
/// retry takes it within `retry`). Each person's message becomes a `chat.discord-message` on the command
/// queue, published with the broker's confirm before the session counts it handled; a publish that fails
/// closes the connection and the resume replays the message. Discord's message id dedupes what a resume
/// replays twice.
public final class DiscordInbound: Service, Sendable {
    /// The advisory lock's name; its key is its hash with the schema's name, so deployments (and test schemas)
    /// sharing a PostgreSQL server do not wait for each other.
    public static let lockName = "bullpen.discord"

    let configuration: DiscordGatewayClient.Configuration
    let postgres: PostgresConfiguration
    let retry: Duration
    let publish: @Sendable (DiscordMessageReceived) async throws -> Void
    let logger: Logger
    private let current = Mutex<DiscordGatewayClient?>(nil)

    public init(
        configuration: DiscordGatewayClient.Configuration, postgres: PostgresConfiguration,
        retry: Duration = .seconds(10), logger: Logger,
        publish: @escaping @Sendable (DiscordMessageReceived) async throws -> Void
    ) {
        self.configuration = configuration
        self.postgres = postgres
        self.retry = retry
        self.publish = publish
        self.logger = logger
    }

    /// The connection's state while this worker holds it; nil while another worker does.
    public var status: DiscordGatewayClient.Status? { current.withLock { $0?.status } }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard let lock = await LockConnection.acquire(postgres, name: Self.lockName) else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.retry) }
                continue
            }
            logger.info("this worker holds the Discord connection")
            let publish = self.publish
            let client = DiscordGatewayClient(configuration: configuration, logger: logger) { message in
                try await publish(
                    DiscordMessageReceived(
                        messageId: message.id, channelId: message.channelID, guildId: message.guildID,
                        authorId: message.authorID, authorName: message.authorName, text: message.content))
            }
            current.withLock { $0 = client }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await client.run() }
                group.addTask {
                    // The lock is this worker's while its connection answers; a lost one stops the client.
                    while await lock.alive() {
                        if (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: .seconds(5)) })) == nil {
                            return
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
            current.withLock { $0 = nil }
            lock.release()
            if let stopped = client.status.stopped {
                logger.error("the Discord connection will not be retried", metadata: ["reason": "\(stopped)"])
                return
            }
        }
    }
}

/// A PostgreSQL connection that holds a session-level advisory lock, used on threads of its own.
final class LockConnection: @unchecked Sendable {
    private let db: PGConnection
    private let name: String
    private let lock = NSLock()
    static let key = "hashtextextended($1 || '.' || current_schema(), 0)"

    private init(db: PGConnection, name: String) {
        self.db = db
        self.name = name
    }

    /// The lock, on a connection of its own; nil when another session holds it (or PostgreSQL is away).
    static func acquire(_ postgres: PostgresConfiguration, name: String) async -> LockConnection? {
        await onThread {
            guard let db = try? PGConnection(postgres) else { return nil }
            let held =
                (try? db.query("SELECT pg_try_advisory_lock(\(key)) AS held", [name]).first?.decode(
                    "held", as: Bool.self)) ?? false
            guard held else {
                db.close()
                return nil
            }
            return LockConnection(db: db, name: name)
        }
    }

    /// Whether the connection (and so the lock) is still there.
    func alive() async -> Bool {
        await LockConnection.onThread { self.lock.withLock { (try? self.db.query("SELECT 1")) != nil } }
    }

    /// Frees the lock and closes the connection.
    func release() {
        lock.withLock {
            _ = try? db.query("SELECT pg_advisory_unlock(\(Self.key))", [name])
            db.close()
        }
    }

    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }
}

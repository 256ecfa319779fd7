import Logging
import PostgreSQL

/// The PostgreSQL connection of one blocking loop: opened when first needed, dropped after a failure and
/// opened again on the next use, with a growing pause between failed tries. Every loop that holds a
/// connection (consumer, outbox relay, scheduler, look-ups) goes through one of these.
public struct PostgresSession {
    public let configuration: PostgresConfiguration
    private let prepare: (PGConnection) throws -> Void
    private var current: PGConnection?
    private var backoff: Backoff

    /// `prepare` runs on each new connection (LISTEN, for example) before it is handed out.
    public init(
        _ configuration: PostgresConfiguration,
        backoff: Backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5)),
        prepare: @escaping (PGConnection) throws -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.prepare = prepare
        self.backoff = backoff
    }

    /// A live connection, opening one when there is none.
    public mutating func connection() throws -> PGConnection {
        if let current, current.isHealthy { return current }
        current?.close()
        current = nil
        let fresh = try PGConnection(configuration)
        do {
            try prepare(fresh)
        } catch {
            fresh.close()
            throw error
        }
        current = fresh
        return fresh
    }

    /// The unit of work succeeded: the next failure starts the pauses from the shortest again.
    public mutating func succeeded() {
        backoff.reset()
    }

    /// The unit of work failed: logs it, drops the connection when the failure was the connection's, and
    /// returns how long to pause before the next try.
    public mutating func failed(_ error: any Error, logger: Logger, _ message: Logger.Message) -> Duration {
        logger.warning(message, metadata: ["error": "\(error)"])
        if (error as? PGError)?.isConnectionFailure ?? true {
            current?.close()
            current = nil
        }
        return backoff.next()
    }

    public mutating func close() {
        current?.close()
        current = nil
    }
}

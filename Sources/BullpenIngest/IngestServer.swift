import AMQP
import BullpenRuntime
import BullpenStore
import Hummingbird
import Logging
import PostgreSQL
import ServiceLifecycle

/// `bullpen ingest`: the HTTP front door. It turns webhooks into AMQP messages and answers 2xx only
/// after the broker confirmed them.
///
/// ```swift
/// let ingest = IngestServer(configuration: config, topology: topology, logger: logger)
/// try await ingest.run()   // until SIGTERM or SIGINT
/// ```
public final class IngestServer: Sendable {
    public let configuration: IngestConfiguration
    public let topology: Topology
    public let publisher: ConfirmingPublisher
    /// Callback-token look-ups, batched across concurrent requests.
    public let tokens: BatchingLookup<[UInt8], CallbackTokens.Attempt>
    private let logger: Logger

    public init(configuration: IngestConfiguration, topology: Topology, logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        self.logger = logger
        publisher = ConfirmingPublisher(configuration: configuration.amqp, logger: logger)
        tokens = BatchingLookup(
            configuration: configuration.postgres, threads: configuration.databaseConnections, logger: logger
        ) { hashes, db in
            try CallbackTokens.openAttempts(tokenHashes: hashes, on: db)
        }
    }

    /// The routes, for the server and for tests.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let taskResult = TaskResultRoute(
            publisher: publisher, tokens: tokens, topology: topology, maxBodyBytes: configuration.maxBodyBytes)
        router.get("/healthz") { _, _ -> Response in
            .json(.ok, ["status": "ok"])
        }
        router.get("/readyz") { [publisher] _, _ -> Response in
            publisher.isConnected
                ? .json(.ok, ["status": "ready"])
                : .json(.serviceUnavailable, ["status": "not ready", "reason": "no broker connection"])
        }
        router.post("/webhooks/agents/task-result") { request, context in
            try await taskResult.handle(request, context: context)
        }
        return router
    }

    /// The Hummingbird application (not started).
    public func application() -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "bullpen"),
            logger: logger)
    }

    /// Starts the publisher, serves until SIGTERM/SIGINT, then drains and stops.
    public func run() async throws {
        publisher.start()
        defer {
            publisher.shutdown()
            tokens.shutdown()
        }
        try await application().runService()
    }
}

import BullpenMessaging
import BullpenStore
import Hummingbird
import Logging
import ServiceLifecycle

/// `bullpen ingest`: the HTTP front door. It turns webhooks into AMQP messages and answers 2xx only after
/// the broker confirmed them.
///
/// The application it builds runs the confirming publisher and the token look-ups as services of its own
/// service group, ahead of the HTTP server: on SIGTERM the server stops taking requests first, then the
/// look-ups, then the publisher, after its outstanding confirms.
///
/// ```swift
/// let ingest = IngestServer(configuration: config, topology: topology, logger: logger)
/// try await ingest.application().runService()   // until SIGTERM or SIGINT
/// ```
public struct IngestServer: Sendable {
    public let configuration: IngestConfiguration
    public let topology: Topology
    public let publisher: ConfirmingPublisher
    /// Callback-token look-ups, batched across concurrent requests.
    let tokens: BatchingLookup<[UInt8], CallbackTokens.Attempt>
    private let logger: Logger

    public init(configuration: IngestConfiguration, topology: Topology, logger: Logger) {
        self.configuration = configuration
        self.topology = topology
        self.logger = logger
        publisher = ConfirmingPublisher(configuration: configuration.amqp, logger: logger)
        tokens = BatchingLookup(
            name: "token-lookup", configuration: configuration.postgres, threads: configuration.databaseConnections,
            logger: logger
        ) { hashes, db in
            try CallbackTokens.attempts(tokenHashes: hashes, on: db)
        }
    }

    /// The routes, behind the middleware that shapes every error as JSON.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.addRoutes(HealthRoutes(publisher: publisher).collection())
        let taskResult = TaskResultRoutes(
            publisher: publisher, tokens: tokens, topology: topology, maxBodyBytes: configuration.maxBodyBytes)
        router.addRoutes(taskResult.collection(), atPath: "/webhooks/agents")
        router.refuseOtherMethods("/webhooks/agents/task-result", allowed: [.post])
        router.refuseOtherMethods("/healthz", allowed: [.get])
        router.refuseOtherMethods("/readyz", allowed: [.get])
        return router
    }

    /// The Hummingbird application, with the publisher and the look-ups as its services (not started).
    public func application() -> some ApplicationProtocol {
        let timeouts = configuration.timeouts
        return Application(
            router: router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(timeouts: timeouts)])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "bullpen"),
            services: [publisher, tokens],
            logger: logger)
    }
}

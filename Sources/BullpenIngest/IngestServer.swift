import BullpenMessaging
import BullpenStore
import Files
import Hummingbird
import Logging
import OpenClaw
import ServiceLifecycle

/// `bullpen ingest`: the HTTP front door. It turns webhooks into AMQP messages and answers 2xx only after
/// the broker confirmed them.
///
/// It serves the agents' webhooks (`/webhooks/agents`) and the operator API (`/v1`). The application it builds
/// runs the confirming publisher and the database threads (token look-ups, command records, reads) as services
/// of its own service group, ahead of the HTTP server: on SIGTERM the server stops taking requests first, then
/// the database threads, then the publisher, after its outstanding confirms.
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
    /// API-token look-ups, likewise, and the tokens recently found.
    let apiTokens: BatchingLookup<[UInt8], ApiTokens.Token>
    let apiTokenCache: TokenCache
    /// Commands recorded as accepted, many requests to a statement.
    let commands: BatchingLookup<CommandStore.Record, CommandStore.Recorded>
    /// Connections for the read API.
    let database: DatabasePool
    /// Wakes the live event streams on each new event.
    let feed: EventFeed
    /// Reads the work queues' depths for `/v1/queues`.
    let broker: BrokerInspector
    /// The gateway connection that reads a task's session for operators (`GET /v1/tasks/{id}/session`); nil
    /// when ingest has no gateway token (the read then answers 503).
    let gateway: GatewayClient?
    private let logger: Logger

    public init(
        configuration: IngestConfiguration, topology: Topology, gateway: GatewayClient? = nil, logger: Logger
    ) {
        self.gateway = gateway
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
        apiTokens = BatchingLookup(
            name: "api-token-lookup", configuration: configuration.postgres, threads: 1, logger: logger
        ) { hashes, db in
            try ApiTokens.find(hashes: hashes, on: db)
        }
        apiTokenCache = TokenCache(lifetime: configuration.tokenCacheLifetime)
        commands = BatchingLookup(
            name: "command-record", configuration: configuration.postgres, threads: 1, logger: logger,
            setUp: { db in
                // The row is a convenience (GET /v1/commands/{id}, idempotency before the worker sees it); the
                // confirmed message is what must not be lost, and a worker that finds no row records it. So the
                // record does not wait for its WAL flush.
                try db.execute("SET synchronous_commit = off")
                // Planning the statement (CTEs, one row per command of the batch) cost more than running it, so
                // the one generic plan is kept. Every access it makes is a look-up by primary key, so sequential
                // scans are ruled out: a plan made while `commands` was empty would otherwise scan it whole for
                // each command as it grows.
                try db.execute("SET plan_cache_mode = force_generic_plan")
                try db.execute("SET enable_seqscan = off")
            },
            query: { records, db in try CommandStore.record(records, on: db) })
        database = DatabasePool(
            name: "read", configuration: configuration.postgres, connections: configuration.readConnections,
            logger: logger)
        feed = EventFeed(configuration: configuration.postgres, heartbeat: configuration.eventHeartbeat, logger: logger)
        broker = BrokerInspector(configuration: configuration.amqp, topology: topology, logger: logger)
    }

    /// The routes, behind the middleware that shapes every error as JSON.
    public func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: ErrorMiddleware(routes: Self.routes))
        router.addRoutes(HealthRoutes(publisher: publisher).collection())
        let store: any FileStore =
            configuration.s3.map { s3 in
                S3FileStore(
                    endpoint: s3.endpoint, bucket: s3.bucket,
                    signer: S3Signer(accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region))
            } ?? LocalFileStore(root: configuration.filesDirectory)
        let files = FileService(
            store: store, secret: configuration.linkSecret,
            linkLifetime: configuration.linkLifetime, maxBytes: configuration.maxFileBytes)
        router.addRoutes(AgentFileRoutes(tokens: tokens, files: files).collection(), atPath: "/webhooks/agents")
        let taskResult = TaskResultRoutes(
            publisher: publisher, tokens: tokens, topology: topology, maxBodyBytes: configuration.maxBodyBytes)
        router.addRoutes(taskResult.collection(), atPath: "/webhooks/agents")
        let agentEvents = AgentEventRoutes(publisher: publisher, topology: topology, secrets: configuration.hookSecrets)
        router.addRoutes(agentEvents.collection(), atPath: "/webhooks/agents")
        let stripe = StripeWebhookRoutes(
            publisher: publisher, topology: topology, secrets: configuration.stripeWebhookSecrets)
        router.addRoutes(stripe.collection(), atPath: "/webhooks")
        let slack = SlackEventRoutes(
            publisher: publisher, topology: topology, secrets: configuration.slackSigningSecrets)
        router.addRoutes(slack.collection(), atPath: "/webhooks")
        router.addRoutes(FileDownloadRoutes(files: files, database: database).collection())
        let proxies = configuration.trustedProxies
        router.addRoutes(
            CheckoutRoutes(settings: configuration.checkout, trustedProxies: proxies).collection(), atPath: "/v1")
        router.addRoutes(
            IntakeRoutes(publisher: publisher, topology: topology, trustedProxies: proxies).collection(), atPath: "/v1")
        router.addRoutes(
            IntakeConfirmRoutes(publisher: publisher, topology: topology, database: database).collection())
        let api = OperatorAPI(
            publisher: publisher, topology: topology, database: database, commands: commands,
            maxBodyBytes: configuration.maxBodyBytes, rateLimit: configuration.rateLimit, files: files,
            cursors: EventCursors(secret: configuration.linkSecret), gateway: gateway)
        router.addRoutes(
            api.collection(tokens: apiTokens, cache: apiTokenCache, feed: feed, broker: broker), atPath: "/v1")
        if var web = configuration.web {
            web.pages.formTargets = configuration.checkout?.stripe.hostedPageOrigins ?? []
            let routes = WebRoutes(
                api: api, database: database,
                authenticator: WebAuthenticator(tokens: apiTokens, cache: apiTokenCache), settings: web, feed: feed,
                checkout: configuration.checkout)
            router.addRoutes(routes.collection())
        }
        return router
    }

    /// Every path and its methods: the webhooks', the service's own, and the operator API's.
    static let routes = RouteTable(
        routes: [
            ("/webhooks/agents/task-result", [.post]), ("/webhooks/agents/event", [.post]),
            ("/webhooks/agents/files", [.post]), ("/webhooks/stripe", [.post]), ("/webhooks/slack", [.post]),
            ("/healthz", [.get]),
            ("/readyz", [.get]),
            ("/openapi.json", [.get]), ("/files/:id", [.get]), ("/v1/checkout", [.post]),
            ("/v1/intake", [.post]), ("/intake/confirm", [.get, .post]),
        ] + OperatorAPI.paths)

    /// The Hummingbird application, with the publisher and the look-ups as its services (not started).
    public func application() -> some ApplicationProtocol {
        let timeouts = configuration.timeouts
        return Application(
            router: router(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(timeouts: timeouts)])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "bullpen"),
            services: [publisher, tokens, apiTokens, commands, database, feed, broker] + (gateway.map { [$0] } ?? []),
            logger: logger)
    }
}

import AMQP
import ArgumentParser
import BullpenAPIClient
import BullpenDomain
import BullpenIngest
import BullpenMessaging
import BullpenStore
import BullpenWorkers
import Clerk
import Foundation
import HTTPClient
import Logging
import OpenClaw
import PostgreSQL
import Providers
import ServiceLifecycle

/// The `bullpen` command: one executable, one subcommand per process or operator task.
public struct BullpenCommand: AsyncParsableCommand {
    /// The version `bullpen --version` prints: the executable's, and the operator API's it speaks.
    public static let version = "1.0.0 (API 1.0.0)"

    public static let configuration = CommandConfiguration(
        commandName: "bullpen",
        abstract: "Back office of an agency whose work is done by AI agents.",
        discussion: """
            Operator commands (client, project, task, agent, command, events) talk to ingest's API over HTTP
            with an API token (BULLPEN_URL, BULLPEN_TOKEN). Exit codes: 0 done or applied, 1 rejected, 2 usage,
            3 --wait timed out, 4 token refused, 5 ingest unreachable or unavailable, 6 request refused,
            7 server error.
            """,
        version: version,
        subcommands: [
            ClientCommand.self, TimeCommand.self, ProjectCommand.self, TaskCommand.self, DeliverableCommand.self,
            NotificationCommand.self, AnalyticsCommand.self, InvoiceCommand.self, LeadCommand.self,
            AgentCommand.self,
            CommandCommand.self,
            EventsCommand.self, StatusCommand.self,
            MigrateCommand.self, TopologyCommand.self, IngestCommand.self, WorkerCommand.self, DeadLetterCommand.self,
            TokenCommand.self, GatewayCommand.self, SandboxCommand.self, CheckoutCommand.self,
            DemoCommand.self,
        ])

    public init() {}

    /// Parses the arguments, runs the command and exits with the code the README documents. Under `--json`,
    /// a failure is the API's error object on standard error (`{"error": {"code", "message", "field"}}`), with
    /// the same exit code.
    public static func runMain() async -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let json = arguments.contains("--json")
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            if let suggestion = Self.suggestion(for: arguments) {
                fail(CLIFailure(.usage, suggestion), json: json)
            }
            if exitCode(for: error) == .validationFailure {
                // The usage of the subcommand at fault, with the reason, and the documented exit code.
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(CLIExit.usage.rawValue)
            }
            exit(withError: error)
        }
        do {
            // Parsing by hand runs async subcommands on the async path whatever the platform annotations say.
            if var asyncCommand = command as? any AsyncParsableCommandRunner {
                try await asyncCommand.runAsync()
            } else {
                try command.run()
            }
            Foundation.exit(CLIExit.ok.rawValue)
        } catch let error as APIClientError {
            fail(CLIFailure(error), apiError: error.apiError, json: json)
        } catch let failure as CLIFailure {
            fail(failure, json: json)
        } catch let error as PGError where error.isConnectionFailure {
            fail(CLIFailure(.unreachable, "the database cannot be reached: \(error)"), json: json)
        } catch let error as ArgumentParser.ValidationError {
            // Thrown while running (a file that cannot be read, a refused value): the reason, not the usage.
            fail(CLIFailure(.usage, error.message), json: json)
        } catch {
            if exitCode(for: error) == .validationFailure {
                fail(CLIFailure(.usage, fullMessage(for: error)), json: json)
            }
            exit(withError: error)
        }
    }

    /// Writes a failure to standard error (as the API's error object under `--json`) and exits with its code.
    static func fail(_ failure: CLIFailure, apiError: [String: String]? = nil, json: Bool) -> Never {
        if json {
            var error = apiError ?? ["code": failure.code, "message": failure.description]
            error["message"] = error["message"] ?? failure.description
            let object = ["error": error]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            FileHandle.standardError.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardError.write(Data("bullpen: \(failure.description)\n".utf8))
        }
        Foundation.exit(failure.exit.rawValue)
    }

    /// For a first word that is no command, the nearest command's name (`tasks`: `task`), as a sentence.
    static func suggestion(for arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName ?? nil }
        guard !names.contains(first) else { return nil }
        let nearest = names.map { ($0, Self.distance($0, first)) }.min { $0.1 < $1.1 }
        guard let nearest, nearest.1 <= max(2, first.count / 3) else {
            return "'\(first)' is not a bullpen command; see bullpen --help"
        }
        let rest = arguments.dropFirst().joined(separator: " ")
        return
            "'\(first)' is not a bullpen command; did you mean 'bullpen \(nearest.0)\(rest.isEmpty ? "" : " " + rest)'?"
    }

    /// Levenshtein distance between two words.
    static func distance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the PostgreSQL schema and write the plans file to it (safe to run again).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The plans file (env BULLPEN_PLANS).")
    var plans: String = Environment.value("BULLPEN_PLANS", default: "Config/plans.json")

    @Option(help: "Where each kind of operator alert goes (env BULLPEN_ALERTS; a missing file: email).")
    var alerts: String = Environment.value("BULLPEN_ALERTS", default: "Config/alerts.json")

    @Option(help: "The models a Scale configuration may name, with their prices (env BULLPEN_MODELS).")
    var models: String = Environment.value("BULLPEN_MODELS", default: "Config/models.json")

    func run() throws {
        let catalog: PlanCatalog
        let routes: AlertRoutes
        let modelCatalog: ModelCatalog
        do {
            catalog = try PlanCatalog.load(from: plans)
            routes = try AlertRoutes.load(from: alerts)
            modelCatalog = try ModelCatalog.load(from: models)
        } catch { throw ValidationError("\(error)") }
        let db = try PGConnection(try connection.postgres())
        defer { db.close() }
        do {
            let report = try Migrator().run(on: db)
            try PlanStore.apply(catalog, on: db)
            try AlertRouteStore.apply(routes, on: db)
            try ModelPriceStore.apply(modelCatalog, on: db)
            let applied =
                report.applied.isEmpty
                ? "nothing to apply" : "applied \(report.applied.map(String.init).joined(separator: ", "))"
            print(
                "schema at version \(report.currentVersion) (\(applied)); plans from \(plans): "
                    + catalog.plans.map { "\($0.id.rawValue) \($0.stripePriceId)" }.joined(separator: ", "))
        } catch let error as MigrationError {
            throw ValidationError(error.description)
        }
    }
}

struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology", abstract: "Broker topology from Queues/.", subcommands: [Apply.self])

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare exchanges, work, retry and dead-letter queues (safe to run again).")

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let topology = try connection.topology()
            let amqp = try AMQPConnection(try connection.amqp())
            defer { amqp.close() }
            try topology.apply(on: amqp)
            for spec in topology.queues {
                print(
                    topology.bands(spec.queue).map { topology.workQueue(spec.queue, band: $0) }.joined(
                        separator: " and ")
                        + ": priority \(spec.maxPriority.map(String.init) ?? "none"), "
                        + "retry delays \(spec.retryDelaysSeconds.map { "\($0)s" }.joined(separator: " ")), "
                        + "max attempts \(spec.maxAttempts), dead letters \(topology.deadQueue(spec.queue))")
            }
        }
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Serve the webhooks; answer 2xx only after the broker confirmed.")

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup(title: "The gateway, for operators' session reads") var gateway: GatewayOptions

    @Option(help: "Listen address.")
    var host: String = "127.0.0.1"

    @Option(help: "Listen port (env BULLPEN_HTTP_PORT).")
    var port: Int = Int(Environment.value("BULLPEN_HTTP_PORT", default: "8080")) ?? 8080

    @Option(help: "Seconds a connection may wait, after opening or after a response, for a complete request head.")
    var idleTimeout: Int = Int(ConnectionTimeouts().idle.components.seconds)

    @Option(help: "Seconds a request may take to arrive in full once its head is in (408 after).")
    var readTimeout: Int = Int(ConnectionTimeouts().requestRead.components.seconds)

    @Option(help: "Requests per second each API token may send to /v1 (429 beyond); 0 turns the limit off.")
    var rateLimit: Double = RateLimitSettings().perSecond

    @Option(help: "Requests an API token may send at once before the rate limit applies.")
    var rateBurst: Int = RateLimitSettings().burst

    @Option(
        help:
            "Milliseconds an API token found in the database is trusted before it is looked up again (a revocation takes effect within it); 0 looks up every request."
    )
    var tokenCacheMs: Int = 1000

    @Option(
        help:
            "Secrets the gateway's lifecycle hook signs with, comma-separated during a rotation (env BULLPEN_HOOK_SECRET)."
    )
    var hookSecret: String = Environment.value("BULLPEN_HOOK_SECRET", default: "")

    @Option(
        help:
            "Stripe's webhook signing secrets, comma-separated during a rotation (env BULLPEN_STRIPE_WEBHOOK_SECRET)."
    )
    var stripeWebhookSecret: String = Environment.value("BULLPEN_STRIPE_WEBHOOK_SECRET", default: "")

    @Option(
        help: "The Slack app's signing secrets, comma-separated during a rotation (env BULLPEN_SLACK_SIGNING_SECRET).")
    var slackSigningSecret: String = Environment.value("BULLPEN_SLACK_SIGNING_SECRET", default: "")

    @Option(help: "Stripe's API (env BULLPEN_STRIPE_URL; the sandbox's stand-in in the demo).")
    var stripeURL: String = Environment.value("BULLPEN_STRIPE_URL", default: "https://api.stripe.com")

    @Option(
        help:
            "Where Stripe sends a client after paying; {CHECKOUT_SESSION_ID} is Stripe's (env BULLPEN_CHECKOUT_SUCCESS_URL)."
    )
    var checkoutSuccessURL: String = Environment.value(
        "BULLPEN_CHECKOUT_SUCCESS_URL", default: "https://portal.bullpen.test/welcome?session_id={CHECKOUT_SESSION_ID}")

    @Option(help: "Where Stripe sends a client who gives up (env BULLPEN_CHECKOUT_CANCEL_URL).")
    var checkoutCancelURL: String = Environment.value(
        "BULLPEN_CHECKOUT_CANCEL_URL", default: "https://bullpen.test/#pricing")

    @Option(help: "The plans file (env BULLPEN_PLANS).")
    var plans: String = Environment.value("BULLPEN_PLANS", default: "Config/plans.json")

    @Option(help: "The folder of deliverables' files, kept by content (env BULLPEN_FILES_DIR).")
    var filesDir: String = Environment.value("BULLPEN_FILES_DIR", default: ".data/files")

    @Option(
        help:
            "The secret that signs file download links, 32 characters or more, the same on every ingest (env BULLPEN_LINK_SECRET; unset: a random one, links valid on this process only)."
    )
    var linkSecret: String = Environment.value("BULLPEN_LINK_SECRET", default: "")

    @Option(help: "Seconds a download link stays valid.")
    var linkSeconds: Int = 900

    @Option(
        help:
            "An S3-compatible file store's URL instead of the files folder (env BULLPEN_S3_URL; keys in BULLPEN_S3_ACCESS_KEY and BULLPEN_S3_SECRET_KEY)."
    )
    var s3URL: String = Environment.value("BULLPEN_S3_URL", default: "")

    @Option(help: "The S3 bucket (env BULLPEN_S3_BUCKET).")
    var s3Bucket: String = Environment.value("BULLPEN_S3_BUCKET", default: "bullpen-files")

    @Option(help: "The S3 region (env BULLPEN_S3_REGION).")
    var s3Region: String = Environment.value("BULLPEN_S3_REGION", default: "us-east-1")

    @Option(help: "The largest file upload, in bytes (413 beyond).")
    var maxFileBytes: Int = 10 << 20

    @Option(
        help:
            "Load balancers in front of ingest whose X-Forwarded-For names the sender of a public form, for its rate limit; comma-separated IP addresses (env BULLPEN_TRUSTED_PROXIES)."
    )
    var trustedProxies: String = Environment.value("BULLPEN_TRUSTED_PROXIES", default: "")

    @Option(help: "The web's templates and assets: templates/ and static/ (env BULLPEN_WEB_DIR).")
    var webDir: String = Environment.value("BULLPEN_WEB_DIR", default: "Web")

    @Option(
        help:
            "Addresses that sign in to the web as operators, comma-separated (env BULLPEN_OPERATOR_EMAILS; unset: BULLPEN_OPERATOR_EMAIL)."
    )
    var operatorEmails: String = Environment.value(
        "BULLPEN_OPERATOR_EMAILS", default: Environment.value("BULLPEN_OPERATOR_EMAIL", default: ""))

    @Flag(help: "Mark the session cookie Secure: ingest is reached over TLS (a load balancer in front).")
    var secureCookies = false

    @Option(help: "The web's public URL, where Clerk sends people back after signing in (env BULLPEN_PORTAL_URL).")
    var portalURL: String = Environment.value("BULLPEN_PORTAL_URL", default: "http://localhost:3000")

    @Option(
        help:
            "The Clerk instance's Frontend API URL, its session tokens' issuer (env BULLPEN_CLERK_ISSUER; unset: no Clerk sign-in)."
    )
    var clerkIssuer: String = Environment.value("BULLPEN_CLERK_ISSUER", default: "")

    @Option(help: "Clerk's sign-in page (env BULLPEN_CLERK_SIGN_IN_URL; default: <issuer>/sign-in).")
    var clerkSignInURL: String = Environment.value("BULLPEN_CLERK_SIGN_IN_URL", default: "")

    @Option(
        help:
            "Origins Clerk session tokens may be made for (their azp), comma-separated (env BULLPEN_CLERK_AUTHORIZED_PARTIES; default: the portal URL's)."
    )
    var clerkAuthorizedParties: String = Environment.value("BULLPEN_CLERK_AUTHORIZED_PARTIES", default: "")

    @Option(help: "Clerk users (user_...) that sign in as operators, comma-separated (env BULLPEN_OPERATOR_CLERK_IDS).")
    var operatorClerkIDs: String = Environment.value("BULLPEN_OPERATOR_CLERK_IDS", default: "")

    @Flag(help: "Serve no web pages (the client portal and the operator console): the API and webhooks only.")
    var noWeb = false

    func validate() throws {
        guard linkSecret.isEmpty || linkSecret.utf8.count >= 32 else {
            throw ValidationError("--link-secret must be 32 characters or more")
        }
        guard linkSeconds >= 1, maxFileBytes >= 1 else {
            throw ValidationError("--link-seconds and --max-file-bytes must be positive")
        }
        guard idleTimeout >= 1, readTimeout >= 1 else { throw ValidationError("timeouts must be at least 1 second") }
        guard rateLimit >= 0, rateBurst >= 1 else {
            throw ValidationError("--rate-limit must be >= 0, --rate-burst >= 1")
        }
        guard (0...60_000).contains(tokenCacheMs) else { throw ValidationError("--token-cache-ms must be 0...60000") }
    }

    func run() async throws {
        Logs.bootstrap()
        let logger = Logger(label: "bullpen.ingest")
        let catalog: PlanCatalog
        do { catalog = try PlanCatalog.load(from: plans) } catch { throw ValidationError("\(error)") }
        // The secret key only from the environment: an option would show it in the process list.
        let stripeKey = Environment.value("BULLPEN_STRIPE_SECRET_KEY", default: "")
        var configuration = IngestConfiguration(
            host: host, port: port, amqp: try connection.amqp(), postgres: try connection.postgres(),
            rateLimit: RateLimitSettings(perSecond: rateLimit, burst: rateBurst),
            timeouts: ConnectionTimeouts(idle: .seconds(idleTimeout), requestRead: .seconds(readTimeout)),
            tokenCacheLifetime: .milliseconds(tokenCacheMs),
            hookSecrets: Environment.list(hookSecret),
            filesDirectory: filesDir,
            linkSecret: linkSecret.isEmpty ? UUID().uuidString + UUID().uuidString : linkSecret,
            linkLifetime: .seconds(linkSeconds), maxFileBytes: maxFileBytes,
            s3: s3URL.isEmpty
                ? nil
                : .init(
                    endpoint: s3URL, bucket: s3Bucket,
                    accessKey: Environment.value("BULLPEN_S3_ACCESS_KEY", default: ""),
                    secretKey: Environment.value("BULLPEN_S3_SECRET_KEY", default: ""), region: s3Region),
            stripeWebhookSecrets: Environment.list(stripeWebhookSecret),
            slackSigningSecrets: Environment.list(slackSigningSecret),
            checkout: stripeKey.isEmpty
                ? nil
                : .init(
                    stripe: StripeClient(baseURL: stripeURL, secretKey: stripeKey), catalog: catalog,
                    successURL: checkoutSuccessURL, cancelURL: checkoutCancelURL))
        configuration.trustedProxies = Set(Environment.list(trustedProxies))
        if !noWeb {
            do {
                configuration.web = try WebSettings(
                    folder: webDir, operators: Set(Environment.list(operatorEmails)), portalURL: portalURL,
                    secureCookies: secureCookies)
            } catch { throw ValidationError("\(error)") }
            if !clerkIssuer.isEmpty {
                let parties = Environment.list(clerkAuthorizedParties)
                configuration.web?.clerk = ClerkSignIn(
                    verifier: ClerkVerifier(
                        rules: ClerkClaimRules(
                            issuer: clerkIssuer,
                            authorizedParties: Set(parties.isEmpty ? [webOrigin(of: portalURL) ?? portalURL] : parties))
                    ),
                    signInURL: clerkSignInURL.isEmpty ? clerkIssuer + "/sign-in" : clerkSignInURL,
                    operators: Set(Environment.list(operatorClerkIDs)))
            }
        }
        // With a gateway token, ingest keeps a gateway connection of its own, for operators' session reads.
        let client =
            gateway.gatewayToken.isEmpty
            ? nil
            : GatewayClient(
                configuration: try gateway.configuration(instance: "bullpen-ingest"),
                logger: Logger(label: "bullpen.gateway"))
        let server = IngestServer(
            configuration: configuration, topology: try connection.topology(), gateway: client, logger: logger)
        try await server.application().runService()
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract:
            "Consume work queues (one transaction per message or batch), relay the outbox, keep dead letters, run scheduled jobs."
    )

    /// Batches of up to 20: the dispatch benchmark went from about 270 to 1,350 dispatches a second at 2
    /// consumers (one transaction and one commit flush per 20 deliveries instead of per delivery), and the
    /// prefetch that follows it keeps a late priority-5 message behind at most 20 held ones per consumer.
    static let defaultBatchSize = 20

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup(title: "Notifications") var notify: NotifyOptions

    @Option(help: "Comma-separated queues to consume.")
    var queues: String = WorkQueue.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Consumers per queue, each with its own AMQP and PostgreSQL connection.")
    var consumers: Int = WorkerPool.Configuration(queues: []).consumersPerQueue

    @Option(
        help:
            "Deliveries applied per transaction, at most (each with its own inbox row): a consumer takes what is waiting, up to this many, so a batch costs no latency when the queue is short."
    )
    var batchSize: Int = WorkerCommand.defaultBatchSize

    @Option(help: "Unacknowledged deliveries per consumer (default: the batch size).")
    var prefetch: UInt16?

    @Option(help: "Seconds a graceful stop waits for in-flight work.")
    var shutdownSeconds: Int = Int(ConsumerSettings().shutdownDeadline.components.seconds)

    @Option(help: "Port of /metrics and /healthz (env BULLPEN_METRICS_PORT); 0 turns it off.")
    var metricsPort: Int = Int(Environment.value("BULLPEN_METRICS_PORT", default: "9090")) ?? 9090

    @Option(
        help:
            "Address /metrics and /healthz listen on (env BULLPEN_METRICS_HOST; 0.0.0.0 for a scraper or a probe from outside the host)."
    )
    var metricsHost: String = Environment.value("BULLPEN_METRICS_HOST", default: "127.0.0.1")

    @Option(help: "Scheduled jobs (env BULLPEN_SCHEDULE); 'none' turns the scheduler off.")
    var schedule: String = Environment.value("BULLPEN_SCHEDULE", default: "Config/schedule.json")

    @Option(
        help: "What the retention job keeps, and for how long (env BULLPEN_RETENTION; a missing file: the defaults).")
    var retention: String = Environment.value("BULLPEN_RETENTION", default: "Config/retention.json")

    @Flag(help: "Do not run the outbox relay in this process.")
    var noRelay = false

    @OptionGroup var gateway: GatewayOptions

    @Flag(
        help:
            "Dispatch pending tasks by themselves: when their dependencies complete, and every tick of the auto-dispatch job (env BULLPEN_AUTO_DISPATCH=1)."
    )
    var autoDispatch: Bool = Environment.value("BULLPEN_AUTO_DISPATCH", default: "0") == "1"

    @Option(
        help:
            "Seconds an agent may go unheard (no lifecycle hook) before the heartbeat check takes it offline (env BULLPEN_AGENT_HEARTBEAT_LIMIT)."
    )
    var heartbeatLimit: Int = Int(Environment.value("BULLPEN_AGENT_HEARTBEAT_LIMIT", default: "900")) ?? 900

    @Option(help: "The task-result webhook agents report to (env BULLPEN_CALLBACK_URL).")
    var callbackURL: String = Environment.value(
        "BULLPEN_CALLBACK_URL",
        default:
            "http://127.0.0.1:\(Environment.value("BULLPEN_HTTP_PORT", default: "8080"))/webhooks/agents/task-result")

    @Option(help: "The secret callback tokens are derived from, 32 characters or more (env BULLPEN_CALLBACK_SECRET).")
    var callbackSecret: String = Environment.value("BULLPEN_CALLBACK_SECRET", default: "")

    @Option(
        help:
            "The Discord bot's token: one worker of the deployment (an advisory lock decides which) listens on Discord's Gateway for clients' channel messages (env BULLPEN_DISCORD_BOT_TOKEN; none: no Discord inbound)."
    )
    var discordBotToken: String = Environment.value("BULLPEN_DISCORD_BOT_TOKEN", default: "")

    @Option(help: "Discord's Gateway (env BULLPEN_DISCORD_GATEWAY_URL).")
    var discordGatewayURL: String = Environment.value(
        "BULLPEN_DISCORD_GATEWAY_URL", default: "wss://gateway.discord.gg/?v=10&encoding=json")

    func validate() throws {
        guard consumers >= 1 && consumers <= 64 else { throw ValidationError("--consumers must be 1...64") }
        guard batchSize >= 1 && batchSize <= 1000 else { throw ValidationError("--batch-size must be 1...1000") }
        if let prefetch, prefetch < 1 { throw ValidationError("--prefetch must be at least 1") }
        guard gateway.gatewayAcceptSeconds > 0 && gateway.gatewayAcceptSeconds <= 300 else {
            throw ValidationError("--gateway-accept-seconds must be more than 0 and at most 300")
        }
        _ = try workQueues()
    }

    func workQueues() throws -> [WorkQueue] {
        try queues.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { name in
                guard let queue = WorkQueue(rawValue: name) else {
                    throw ValidationError(
                        "--queues: no queue '\(name)' (known: \(WorkQueue.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return queue
            }
    }

    func run() async throws {
        Logs.bootstrap()
        let logger = Logger(label: "bullpen.worker")
        let amqp = try connection.amqp()
        let postgres = try connection.postgres()
        let topology = try connection.topology()
        let metrics = WorkerMetrics()
        // The group shuts services down in reverse order: consumers first, the publisher after the relay.
        var services: [any Service] = []
        if metricsPort > 0 {
            services.append(MetricsServer(metrics: metrics, host: metricsHost, port: metricsPort, logger: logger))
        }
        if !noRelay {
            let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
            services.append(publisher)
            services.append(
                OutboxRelay(
                    postgres: postgres, topology: topology, publisher: publisher, metrics: metrics, logger: logger))
        }
        services.append(DeadLetterKeeper(amqp: amqp, postgres: postgres, topology: topology, logger: logger))
        if schedule != "none" {
            let workerName = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
            do {
                services.append(
                    try Scheduler(
                        schedule: try Schedule.load(from: schedule),
                        jobs: Jobs.all(
                            heartbeatLimit: .seconds(heartbeatLimit), autoDispatch: autoDispatch,
                            retention: try RetentionPolicy.load(from: retention)),
                        postgres: postgres,
                        worker: workerName,
                        metrics: metrics, logger: logger))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let dispatch = try dispatchSettings(amqp: amqp, topology: topology, metrics: metrics, logger: logger)
        services += dispatch.services
        if !discordBotToken.isEmpty {
            // Clients' Discord messages go to the command queue through a publisher of their own.
            let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
            services.append(publisher)
            services.append(
                DiscordInbound(
                    configuration: .init(url: discordGatewayURL, token: discordBotToken), postgres: postgres,
                    logger: Logger(label: "bullpen.discord")
                ) { message in
                    try await publisher.publish(
                        try Envelope.outgoing(message, topology: topology, appID: "bullpen-discord"))
                })
        }
        var dispatchHandlers = dispatch.handlers
        dispatchHandlers.autoDispatch = autoDispatch
        services.append(
            WorkerPool(
                configuration: .init(
                    queues: try workQueues(), consumersPerQueue: consumers,
                    consumer: ConsumerSettings(
                        batchSize: batchSize, prefetch: prefetch, shutdownDeadline: .seconds(shutdownSeconds))),
                topology: topology, amqp: amqp, postgres: postgres,
                handlers: try Handlers.registry(
                    dispatch: dispatchHandlers,
                    notify: try workQueues().contains(.notify) ? notify.handler(logger: logger) : nil),
                metrics: metrics,
                logger: logger))
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
    }
}

extension WorkerCommand {
    /// The gateway client and a publisher for final replies (services of this process), and what the dispatch
    /// handlers need, when this worker
    /// consumes the dispatch queue. Without a gateway token or a callback secret, run starts fail with the
    /// reason (retried, then parked, the task marked dispatch failed), and a warning says so at start.
    func dispatchSettings(
        amqp: AMQPConfiguration, topology: Topology, metrics: WorkerMetrics, logger: Logger
    ) throws -> (services: [any Service], handlers: Handlers.Dispatch) {
        guard try workQueues().contains(.dispatch) else { return ([], .unconfigured) }
        var tokens: CallbackTokenIssuer?
        if callbackSecret.isEmpty {
            logger.warning("no BULLPEN_CALLBACK_SECRET: tasks cannot be dispatched by this worker")
        } else {
            do { tokens = try CallbackTokenIssuer(secret: callbackSecret) } catch {
                throw ValidationError("\(error)")
            }
        }
        guard !gateway.gatewayToken.isEmpty else {
            logger.warning("no BULLPEN_GATEWAY_TOKEN: tasks cannot be dispatched by this worker")
            var handlers = Handlers.Dispatch.unconfigured
            handlers.tokens = tokens
            return ([], handlers)
        }
        let client = GatewayClient(
            configuration: try gateway.configuration(instance: "bullpen-worker"),
            logger: Logger(label: "bullpen.gateway"))
        // Final replies become results through a publisher of their own.
        let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
        let outcomes = RunOutcomes(logger: logger) { message in
            try await publisher.publish(try Envelope.outgoing(message, topology: topology, appID: "bullpen-dispatch"))
        }
        let roster = GatewayRoster(
            client: client, postgres: try connection.postgres(), silenceLimit: .seconds(heartbeatLimit),
            logger: logger)
        return (
            [publisher, client, roster],
            Handlers.Dispatch(
                gateway: GatewayRuns(
                    client: client,
                    onFinal: { final in
                        await roster.recordUsage(final)
                        await outcomes.handle(final)
                    }, onAnswer: metrics.gatewayAnswer.record),
                tokens: tokens, callbackURL: callbackURL,
                acceptTimeout: .milliseconds(Int(gateway.gatewayAcceptSeconds * 1000))
            )
        )
    }
}

/// Lets the executable run an async subcommand without importing ArgumentParser.
public protocol AsyncParsableCommandRunner {
    mutating func runAsync() async throws
}

extension IngestCommand: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension WorkerCommand: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension GatewayCommand.Status: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension SandboxCommand.Gateway: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension SandboxCommand.Outbound: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension SandboxCommand.Stripe: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

extension SandboxCommand.Clerk: AsyncParsableCommandRunner {
    mutating func runAsync() async throws { try await run() }
}

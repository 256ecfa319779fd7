import AMQP
import BullpenDomain
import BullpenFixtures
import BullpenIngest
import BullpenMessaging
import BullpenStore
import BullpenWorkers
import Foundation
import Logging
import PostgreSQL

/// A migrated schema and a topology of its own, with Bullpen's parts (ingest, consumers) wired to them.
final class StackFixture: @unchecked Sendable {
    let database: TestDatabase
    let broker: TestTopology
    let logger = Logger(label: "test")

    init(_ stem: String, mode: Topology.Mode = .classic, adjust: (QueueSpec) -> QueueSpec = { $0 }) throws {
        database = try TestDatabase(stem)
        broker = try TestTopology(stem, mode: mode, adjust: adjust)
    }

    /// The billing queue with one-second delays and attempts enough for a long wait: events that arrive before
    /// their checkout come back quickly.
    static let fastBilling: @Sendable (QueueSpec) -> QueueSpec = { spec in
        spec.queue == .billing
            ? QueueSpec(queue: .billing, maxPriority: nil, retryDelaysSeconds: [1, 1, 1], maxAttempts: 20) : spec
    }

    var topology: Topology { broker.topology }
    var db: PGConnection { database.db }

    /// What ingest's download links are signed with in the tests, and where its files go (this fixture's own).
    static let linkSecret = "the tests' link secret, thirty-two characters or more"
    var filesDirectory: String { FileManager.default.temporaryDirectory.path + "/bullpen-files-\(database.schema)" }

    func ingest(
        amqp: AMQPConfiguration? = nil, timeouts: ConnectionTimeouts = .init(),
        rateLimit: RateLimitSettings = .init(), eventHeartbeat: Duration = .seconds(15), hookSecrets: [String] = [],
        s3: IngestConfiguration.S3Settings? = nil, stripeWebhookSecrets: [String] = [],
        slackSigningSecrets: [String] = [], checkout: IngestConfiguration.CheckoutSettings? = nil,
        trustedProxies: Set<String> = []
    ) throws -> IngestServer {
        var configuration = IngestConfiguration(
            port: 0, amqp: try amqp ?? TestEnvironment.amqp(), postgres: database.configuration,
            databaseConnections: 2, rateLimit: rateLimit, eventHeartbeat: eventHeartbeat, timeouts: timeouts,
            hookSecrets: hookSecrets, filesDirectory: filesDirectory, linkSecret: Self.linkSecret,
            maxFileBytes: 64 << 10, s3: s3, stripeWebhookSecrets: stripeWebhookSecrets,
            slackSigningSecrets: slackSigningSecrets, checkout: checkout)
        configuration.trustedProxies = trustedProxies
        return IngestServer(configuration: configuration, topology: topology, logger: logger)
    }

    func consumer(
        queue: WorkQueue = .review, batchSize: Int = 1, prefetch: UInt16? = nil, handlers: HandlerRegistry? = nil
    ) throws -> QueueConsumer {
        QueueConsumer(
            queue: queue,
            settings: ConsumerSettings(batchSize: batchSize, prefetch: prefetch, shutdownDeadline: .seconds(5)),
            name: "test-\(queue.rawValue)", topology: topology, amqp: try TestEnvironment.amqp(),
            postgres: database.configuration, handlers: try handlers ?? Handlers.registry(), logger: logger)
    }

    /// A message as a consumer would receive it, first delivery.
    func inbound<Message: BullpenMessage>(_ message: Message) throws -> InboundMessage {
        let outgoing = try Envelope.outgoing(message, topology: topology, appID: "test")
        return InboundMessage(
            delivery: AMQPDelivery(
                channel: 1, consumerTag: "test", deliveryTag: 1, redelivered: false, exchange: outgoing.exchange,
                routingKey: outgoing.routingKey, properties: outgoing.properties, body: outgoing.body),
            queue: Message.queue.rawValue)
    }

    func seedRunningTask(token: String = DemoData.randomToken()) throws -> (task: Int64, token: String) {
        let seeded = try DemoData.seedRunningTask(token: token, on: db)
        return (seeded.taskID, token)
    }

    func taskStatus(_ id: Int64) throws -> String? {
        try db.query("SELECT status FROM tasks WHERE id = $1", [id]).first?.decode("status", as: String.self)
    }

    func count(_ sql: String, _ parameters: [(any PGEncodable)?] = []) throws -> Int {
        try db.query(sql, parameters).first?.decode(at: 0, as: Int.self) ?? 0
    }

    func reviewDepth() throws -> Int { try broker.depth(topology.workQueue(.review)) }

    /// Publishes a task result straight to the review queue, as ingest would; `body` replaces the JSON.
    func publishResult(
        taskID: Int64, attempt: Int = 1, status: TaskResultReport.Outcome = .completed, body: [UInt8]? = nil
    ) throws {
        let message = TaskResultMessage(
            report: TaskResultReport(
                taskId: taskID, status: status, output: "out", error: status == .failed ? "bad" : nil),
            attempt: attempt, receivedAt: 0)
        let outgoing = try Envelope.outgoing(message, topology: topology, appID: "test")
        try broker.admin.publish(
            exchange: outgoing.exchange, routingKey: outgoing.routingKey, body: body ?? outgoing.body,
            properties: outgoing.properties)
    }

    func tearDown() {
        broker.remove()
        database.drop()
        try? FileManager.default.removeItem(atPath: filesDirectory)
    }
}

extension StackFixture {
    /// Applies Stripe events in the order given, straight to the billing store (one transaction each, as the
    /// billing worker does), skipping the types Bullpen ignores.
    func applyStripe(_ bodies: [[UInt8]]) throws {
        for body in bodies {
            let event = try StripeEvent.parse(body)
            guard event.isHandled else { continue }
            _ = try db.transaction { tx in
                try BillingStore.apply(
                    try BillingEvent.parse(type: event.type, body: event.body),
                    version: BillingVersion(created: event.created, eventID: event.id), messageID: "stripe:\(event.id)",
                    now: Date(), in: tx)
            }
        }
    }
}

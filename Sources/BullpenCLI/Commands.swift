import AMQP
import ArgumentParser
import BullpenIngest
import BullpenRuntime
import BullpenStore
import BullpenWorkers
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle

/// The `bullpen` command: one executable, one subcommand per process or operator task.
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
public struct BullpenCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bullpen",
        abstract: "Back office of an agency whose work is done by AI agents.",
        subcommands: [
            MigrateCommand.self, TopologyCommand.self, IngestCommand.self, WorkerCommand.self, DeadLetterCommand.self,
            DemoCommand.self,
        ])

    public init() {}
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the PostgreSQL schema (safe to run again).")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let db = try PGConnection(try connection.postgres())
        defer { db.close() }
        do {
            let report = try Migrator().run(on: db)
            let applied = report.applied.isEmpty ? "nothing to apply" : "applied \(report.applied.map(String.init).joined(separator: ", "))"
            print("schema at version \(report.currentVersion) (\(applied))")
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
                print("\(topology.workQueue(spec.name)): priority \(spec.maxPriority.map(String.init) ?? "none"), "
                    + "retry delays \(spec.retryDelaysSeconds.map { "\($0)s" }.joined(separator: " ")), "
                    + "max attempts \(spec.maxAttempts), dead letters \(topology.deadQueue(spec.name))")
            }
        }
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Serve the webhooks; answer 2xx only after the broker confirmed.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Listen address.")
    var host: String = "127.0.0.1"

    @Option(help: "Listen port (env BULLPEN_HTTP_PORT).")
    var port: Int = Int(Environment.value("BULLPEN_HTTP_PORT", default: "8080")) ?? 8080

    func run() async throws {
        Logs.bootstrap()
        let logger = Logger(label: "bullpen.ingest")
        let server = IngestServer(
            configuration: IngestConfiguration(host: host, port: port, amqp: try connection.amqp(), postgres: try connection.postgres()),
            topology: try connection.topology(), logger: logger)
        try await server.run()
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume work queues (one transaction per message or batch), relay the outbox, run scheduled jobs.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Comma-separated queues to consume.")
    var queues: String = "dispatch,review,billing,notify"

    @Option(help: "Consumers per queue, each with its own AMQP and PostgreSQL connection.")
    var consumers: Int = 1

    @Option(help: "Deliveries applied per transaction (each with its own inbox row).")
    var batchSize: Int = 1

    @Option(help: "Unacknowledged deliveries per consumer (default: the batch size).")
    var prefetch: UInt16?

    @Option(help: "Seconds a graceful stop waits for in-flight work.")
    var shutdownSeconds: Int = 10

    @Option(help: "Port of /metrics (env BULLPEN_METRICS_PORT); 0 turns it off.")
    var metricsPort: Int = Int(Environment.value("BULLPEN_METRICS_PORT", default: "9090")) ?? 9090

    @Option(help: "Scheduled jobs (env BULLPEN_SCHEDULE); 'none' turns the scheduler off.")
    var schedule: String = Environment.value("BULLPEN_SCHEDULE", default: "Config/schedule.json")

    @Flag(help: "Do not run the outbox relay in this process.")
    var noRelay = false

    func validate() throws {
        guard consumers >= 1 && consumers <= 64 else { throw ValidationError("--consumers must be 1...64") }
        guard batchSize >= 1 && batchSize <= 1000 else { throw ValidationError("--batch-size must be 1...1000") }
        if let prefetch, prefetch < 1 { throw ValidationError("--prefetch must be at least 1") }
    }

    func run() async throws {
        Logs.bootstrap()
        let logger = Logger(label: "bullpen.worker")
        let amqp = try connection.amqp()
        let postgres = try connection.postgres()
        let metrics = WorkerMetrics()
        let queueNames = queues.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var services: [any Service] = [
            try WorkerPool(
                configuration: .init(
                    queues: queueNames, consumersPerQueue: consumers, batchSize: batchSize, prefetch: prefetch,
                    shutdownDeadline: .seconds(shutdownSeconds)),
                topology: try connection.topology(), amqp: amqp, postgres: postgres, handlers: Handlers.all,
                metrics: metrics, logger: logger),
        ]
        let publisher = ConfirmingPublisher(configuration: amqp, logger: logger)
        if !noRelay {
            publisher.start()
            services.append(OutboxRelay(postgres: postgres, publisher: publisher, metrics: metrics, logger: logger))
        }
        if schedule != "none" {
            let workerName = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
            do {
                services.append(try Scheduler(
                    schedule: try Schedule.load(from: schedule), jobs: Jobs.all, postgres: postgres, worker: workerName,
                    metrics: metrics, logger: logger))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if metricsPort > 0 { services.append(MetricsServer(metrics: metrics, port: metricsPort, logger: logger)) }
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
        publisher.shutdown()
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

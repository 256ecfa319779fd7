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
            MigrateCommand.self, TopologyCommand.self, IngestCommand.self, WorkerCommand.self, DemoCommand.self,
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
        commandName: "worker", abstract: "Consume work queues and apply each message in one transaction.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Comma-separated queues to consume.")
    var queues: String = "dispatch,review,billing,notify"

    @Option(help: "Consumers per queue.")
    var consumers: Int = 1

    @Option(help: "Unacknowledged deliveries per consumer.")
    var prefetch: UInt16 = 4

    @Option(help: "Seconds a graceful stop waits for in-flight work.")
    var shutdownSeconds: Int = 10

    func validate() throws {
        guard consumers >= 1 && consumers <= 64 else { throw ValidationError("--consumers must be 1...64") }
        guard prefetch >= 1 else { throw ValidationError("--prefetch must be at least 1") }
    }

    func run() async throws {
        Logs.bootstrap()
        let logger = Logger(label: "bullpen.worker")
        let pool = try WorkerPool(
            configuration: .init(
                queues: queues.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
                consumersPerQueue: consumers, prefetch: prefetch, shutdownDeadline: .seconds(shutdownSeconds)),
            topology: try connection.topology(), amqp: try connection.amqp(), postgres: try connection.postgres(),
            handlers: Handlers.all, logger: logger)
        let group = ServiceGroup(
            services: [pool], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
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

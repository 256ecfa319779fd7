import AMQP
import ArgumentParser
import BullpenMessaging
import Foundation
import Logging
import PostgreSQL

/// Connection options shared by every command; each falls back to its environment variable.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "RabbitMQ URL (env BULLPEN_AMQP_URL).")
    var amqpURL: String = Environment.value(
        "BULLPEN_AMQP_URL", default: "amqp://bullpen:bullpen@127.0.0.1:5672/bullpen")

    @Option(help: "PostgreSQL URL (env BULLPEN_DATABASE_URL).")
    var databaseURL: String = Environment.value(
        "BULLPEN_DATABASE_URL", default: "postgresql://bullpen:bullpen@127.0.0.1:5432/bullpen")

    @Option(help: "Folder with the queue files (env BULLPEN_QUEUES_DIR).")
    var queuesDir: String = Environment.value("BULLPEN_QUEUES_DIR", default: "Queues")

    @Option(help: "Prefix of every exchange and queue name (env BULLPEN_TOPOLOGY_PREFIX).")
    var topologyPrefix: String = Environment.value("BULLPEN_TOPOLOGY_PREFIX", default: "bullpen")

    @Option(
        help:
            "classic (one broker: classic priority queues) or quorum (a RabbitMQ cluster: quorum queues, priorities in two bands) (env BULLPEN_TOPOLOGY_MODE); every process of a deployment the same."
    )
    var topologyMode: String = Environment.value("BULLPEN_TOPOLOGY_MODE", default: "classic")

    func amqp() throws -> AMQPConfiguration {
        do { return try AMQPConfiguration(url: amqpURL) } catch { throw ValidationError("\(error)") }
    }

    func postgres() throws -> PostgresConfiguration {
        do { return try PostgresConfiguration(url: databaseURL) } catch { throw ValidationError("\(error)") }
    }

    func topology() throws -> Topology {
        guard let mode = Topology.Mode(rawValue: topologyMode) else {
            throw ValidationError("--topology-mode must be classic or quorum")
        }
        do { return try Topology.load(from: queuesDir, prefix: topologyPrefix, mode: mode) } catch {
            throw ValidationError("\(error)")
        }
    }
}

enum Environment {
    static func value(_ name: String, default fallback: String) -> String {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }

    /// A comma-separated list (secrets during a rotation), without empty entries.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }
}

enum Logs {
    /// Logs to standard error at BULLPEN_LOG_LEVEL (default info).
    static func bootstrap() {
        let level = Logger.Level(rawValue: Environment.value("BULLPEN_LOG_LEVEL", default: "info")) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

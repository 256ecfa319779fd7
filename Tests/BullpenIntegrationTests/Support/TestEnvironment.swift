import AMQP
import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// Where the real services are, and a private corner of each for one test: a PostgreSQL schema and a
/// topology prefix of its own, so suites run in parallel without seeing each other.
enum TestEnvironment {
    static let amqpURL =
        ProcessInfo.processInfo.environment["BULLPEN_AMQP_URL"]
        ?? "amqp://bullpen:bullpen@127.0.0.1:5672/bullpen"
    static let databaseURL =
        ProcessInfo.processInfo.environment["BULLPEN_DATABASE_URL"]
        ?? "postgresql://bullpen:bullpen@127.0.0.1:5432/bullpen"

    /// The repository root, found from this file's path.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func amqp() throws -> AMQPConfiguration {
        var config = try AMQPConfiguration(url: amqpURL)
        config.heartbeatSeconds = 5
        return config
    }

    static func postgres(schema: String? = nil) throws -> PostgresConfiguration {
        var config = try PostgresConfiguration(url: databaseURL)
        config.searchPath = schema
        return config
    }

    /// A short unique name for a test's schema or prefix.
    static func uniqueName(_ stem: String) -> String {
        "t_\(stem)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Runs `rabbitmqctl` for the test node through ops/rabbitmqctl; returns its standard output.
    @discardableResult
    static func rabbitmqctl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: repositoryRoot + "/ops/rabbitmqctl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Closes the broker side of the connection whose client port is `port` (a lost connection, seen by the client).
    static func closeBrokerConnection(clientPort: Int) throws {
        let listing = try rabbitmqctl(["list_connections", "-q", "--no-table-headers", "peer_port", "pid"])
        guard
            let line = listing.split(separator: "\n").first(where: {
                $0.split(separator: "\t").first == Substring(String(clientPort))
            }),
            let pid = line.split(separator: "\t").last
        else { throw TestFailure("no broker connection from port \(clientPort)") }
        try rabbitmqctl(["close_connection", String(pid), "closed by test"])
    }
}

extension TestEnvironment {
    /// The repository's plans file, as every test database gets it.
    static let plans: PlanCatalog = try! PlanCatalog.load(from: repositoryRoot + "/Config/plans.json")
    /// The repository's models file, likewise.
    static let models: ModelCatalog = try! ModelCatalog.load(from: repositoryRoot + "/Config/models.json")
}

/// A migrated schema of its own, with the plans and models written; drop it when done.
final class TestDatabase: @unchecked Sendable {
    let schema: String
    let configuration: PostgresConfiguration
    let db: PGConnection

    init(_ stem: String) throws {
        schema = TestEnvironment.uniqueName(stem)
        configuration = try TestEnvironment.postgres(schema: schema)
        db = try PGConnection(configuration)
        try Migrator().run(on: db)
        try PlanStore.apply(TestEnvironment.plans, on: db)
        try ModelPriceStore.apply(TestEnvironment.models, on: db)
    }

    func drop() {
        try? db.execute("DROP SCHEMA \(PGConnection.quoteIdentifier(schema)) CASCADE")
        db.close()
    }
}

/// The repository's topology under a prefix of its own; remove it when done.
final class TestTopology: @unchecked Sendable {
    let topology: Topology
    let admin: AMQPConnection

    /// `adjust` changes the queue files' settings before anything is declared (the broker refuses to
    /// redeclare a queue with other arguments).
    init(_ stem: String, mode: Topology.Mode = .classic, adjust: (QueueSpec) -> QueueSpec = { $0 }) throws {
        let loaded = try Topology.load(
            from: TestEnvironment.repositoryRoot + "/Queues", prefix: TestEnvironment.uniqueName(stem))
        topology = Topology(prefix: loaded.prefix, queues: loaded.queues.map(adjust), mode: mode)
        admin = try AMQPConnection(try TestEnvironment.amqp())
        try admin.openChannel(1)
        try topology.apply(on: admin)
    }

    /// Ready messages in a queue, from a passive declare (exact, unlike the management API).
    func depth(_ queue: String) throws -> Int {
        try admin.declareQueue(queue, passive: true).messageCount
    }

    func remove() {
        try? topology.remove(on: admin)
        admin.close()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// ``eventually(timeout:_:)`` for a condition that awaits (an API call).
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

import AMQP
import BullpenDomain
import BullpenFixtures
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

// bullpen-bench: the load generator and measurements ops/bench drives. One scenario per run, one JSON line out.
//   bullpen-bench seed N | reset | publish N | drain N LABEL_JSON | ingest URL C SECONDS N
//   bullpen-bench e2e URL RATE SECONDS | raw-publish N WINDOW | raw-consume N PREFETCH
//   bullpen-bench operator-seed | commands BASE_URL TOKEN PROJECT C SECONDS | wait BASE_URL TOKEN PROJECT RATE SECONDS
//   bullpen-bench dispatch-seed N | dispatch-publish | dispatch-await N LABEL_JSON METRICS_URL
//   bullpen-bench notify-seed N | notify-publish | notify-await N LABEL_JSON OUTBOUND_URL | raw-emails OUTBOUND_URL N
let environment = ProcessInfo.processInfo.environment
let arguments = Array(CommandLine.arguments.dropFirst())
func argument(_ index: Int) -> String {
    guard index < arguments.count else {
        FileHandle.standardError.write(Data("bullpen-bench: missing argument \(index + 1)\n".utf8))
        exit(2)
    }
    return arguments[index]
}

do {
    let amqp = try AMQPConfiguration(
        url: environment["BULLPEN_AMQP_URL"] ?? "amqp://bullpen:bullpen@127.0.0.1:5672/bullpen")
    let postgres = try PostgresConfiguration(
        url: environment["BULLPEN_DATABASE_URL"] ?? "postgresql://bullpen:bullpen@127.0.0.1:5432/bullpen")
    let topology = try Topology.load(
        from: environment["BULLPEN_QUEUES_DIR"] ?? "Queues", prefix: environment["BULLPEN_TOPOLOGY_PREFIX"] ?? "bench")
    let salt = environment["BULLPEN_BENCH_SALT"] ?? "s"
    let scenarios = Scenarios(amqp: amqp, postgres: postgres, topology: topology, salt: salt)
    let db = try PGConnection(postgres)
    func firstTask() throws -> Int64 { try db.query("SELECT min(id) AS id FROM tasks").first!.decode("id") }

    switch argument(0) {
    case "seed":
        try Migrator().run(on: db)
        try PlanStore.apply(try PlanCatalog.load(from: environment["BULLPEN_PLANS"] ?? "Config/plans.json"), on: db)
        let admin = try AMQPConnection(amqp)
        try topology.apply(on: admin)
        admin.close()
        let ids = try BulkSeed.seed(count: Int(argument(1))!, salt: salt, on: db)
        emit(["scenario": "seed", "tasks": ids.count, "first": ids.first ?? 0])
    case "web-seed":
        try scenarios.seedWeb(
            projects: Int(argument(1))!, sessions: Int(argument(2))!, file: argument(3), db: db)
    case "web":
        try scenarios.web(
            base: argument(1), file: argument(2), sessions: Int(argument(3))!, tasks: Int(argument(4))!,
            think: Double(argument(5))!, firstTask: try firstTask(), db: db)
    case "retention-seed":
        try scenarios.seedOldEvents(rows: Int(argument(1))!, db: db)
    case "retention-prune":
        let label = try JSONSerialization.jsonObject(with: Data(argument(1).utf8)) as? [String: Any] ?? [:]
        try scenarios.pruneEvents(label: label, db: db)
    case "reset":
        try BulkSeed.reset(on: db)
        let admin = try AMQPConnection(amqp)
        try admin.openChannel(1)
        try admin.purgeQueue(topology.workQueue(.review))
        try admin.purgeQueue(topology.workQueue(.command))
        try admin.purgeQueue(topology.workQueue(.dispatch))
        try admin.purgeQueue(topology.workQueue(.notify))
        try admin.purgeQueue(topology.workQueue(.billing))
        admin.close()
        emit(["scenario": "reset"])
    case "dispatch-seed":
        try scenarios.seedDispatch(tasks: Int(argument(1))!, db: db)
        emit(["scenario": "dispatch-seed", "tasks": Int(argument(1))!])
    case "dispatch-publish":
        try scenarios.publishDispatches(db: db)
    case "dispatch-await":
        let label = try JSONSerialization.jsonObject(with: Data(argument(2).utf8)) as? [String: Any] ?? [:]
        try scenarios.awaitDispatch(tasks: Int(argument(1))!, label: label, metricsURL: argument(3), db: db)
    case "notify-seed":
        try Migrator().run(on: db)
        try PlanStore.apply(try PlanCatalog.load(from: environment["BULLPEN_PLANS"] ?? "Config/plans.json"), on: db)
        try scenarios.seedNotifications(Int(argument(1))!, db: db)
        emit(["scenario": "notify-seed", "notifications": Int(argument(1))!])
    case "notify-publish":
        try scenarios.publishNotifications(db: db)
    case "notify-await":
        let label = try JSONSerialization.jsonObject(with: Data(argument(2).utf8)) as? [String: Any] ?? [:]
        try scenarios.awaitNotifications(
            count: Int(argument(1))!, label: label, outboundURL: argument(3), db: db)
    case "raw-emails":
        scenarios.rawEmails(url: argument(1), count: Int(argument(2))!)
    case "publish":
        try scenarios.publishResults(tasks: Int(argument(1))!, firstTask: try firstTask())
    case "store":
        try scenarios.storeDrain(
            tasks: Int(argument(1))!, firstTask: try firstTask(), batch: Int(argument(2))!, clients: Int(argument(3))!)
    case "drain":
        let label = try JSONSerialization.jsonObject(with: Data(argument(2).utf8)) as? [String: Any] ?? [:]
        try scenarios.awaitDrain(tasks: Int(argument(1))!, label: label, db: db)
    case "stripe-ingest":
        scenarios.stripeIngest(
            url: argument(1), secret: argument(2), connections: Int(argument(3))!, seconds: Double(argument(4))!)
    case "billing-publish":
        try scenarios.publishBilling(customers: Int(argument(1))!)
    case "billing-await":
        let label = try JSONSerialization.jsonObject(with: Data(argument(2).utf8)) as? [String: Any] ?? [:]
        try scenarios.awaitBilling(events: Int(argument(1))!, label: label, db: db)
    case "ingest":
        scenarios.ingest(
            url: argument(1), connections: Int(argument(2))!, seconds: Double(argument(3))!,
            tasks: Int(argument(4))!, firstTask: try firstTask(),
            name: arguments.count > 5 ? argument(5) : "ingest")
    case "e2e":
        try scenarios.endToEnd(
            url: argument(1), rate: Int(argument(2))!, seconds: Int(argument(3))!,
            firstTask: try firstTask(), db: db)
    case "operator-seed":
        let token = try ApiTokens.create(name: "bench \(salt)", role: .operator, on: db).secret
        let client: Int64 = try db.query(
            "INSERT INTO clients (name, email) VALUES ('Bench', 'bench-' || $1 || '@example.test') RETURNING id", [salt]
        ).first!.decode("id")
        let project: Int64 = try db.query(
            "INSERT INTO projects (client_id, name, type, tier) VALUES ($1, 'Bench', 'website', 'pro') RETURNING id",
            [client]
        ).first!.decode("id")
        emit(["scenario": "operator-seed", "token": token, "project": project])
    case "commands":
        scenarios.commands(
            baseURL: argument(1), token: argument(2), project: Int64(argument(3))!, connections: Int(argument(4))!,
            seconds: Double(argument(5))!)
    case "wait":
        scenarios.waitRoundTrip(
            baseURL: argument(1), token: argument(2), project: Int64(argument(3))!, rate: Int(argument(4))!,
            seconds: Int(argument(5))!)
    case "raw-publish":
        try scenarios.rawPublish(
            messages: Int(argument(1))!, window: Int(argument(2))!, queue: topology.prefix + ".raw")
    case "raw-consume":
        try scenarios.rawConsume(
            messages: Int(argument(1))!, prefetch: UInt16(argument(2))!, queue: topology.prefix + ".raw")
    default:
        FileHandle.standardError.write(Data("bullpen-bench: unknown scenario \(argument(0))\n".utf8))
        exit(2)
    }
    db.close()
} catch {
    FileHandle.standardError.write(Data("bullpen-bench: \(error)\n".utf8))
    exit(1)
}

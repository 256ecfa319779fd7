import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import Testing

@Suite("Queue files")
struct QueueFilesTests {
    @Test("the repository's queue files load: every work queue, three with priorities")
    func load() throws {
        let topology = try Topology.load(from: Repository.root + "/Queues", prefix: "x")
        #expect(topology.queues.map(\.queue).sorted() == WorkQueue.allCases.sorted())
        #expect(topology.spec(.review).maxPriority == 5)
        #expect(topology.spec(.dispatch).maxPriority == 5)
        #expect(topology.spec(.notify).maxPriority == 5)
        #expect(topology.spec(.billing).maxPriority == nil)
        #expect(topology.workQueue(.review) == "x.review")
        #expect(topology.retryQueue(.review, tier: 2) == "x.review.retry.2")
        #expect(topology.deadQueue(.billing) == "x.billing.dead")
        #expect(throws: TopologyError.self) { try topology.queue(named: "nope") }
        #expect(try topology.queue(named: "notify") == .notify)
    }

    /// Writes the repository's queue files into a folder, with `change` applied, and loads them.
    func loadChanged(_ change: (URL) throws -> Void) throws -> Result<Topology, TopologyError> {
        let folder = try Repository.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for queue in WorkQueue.allCases {
            try FileManager.default.copyItem(
                atPath: Repository.root + "/Queues/\(queue.rawValue).json",
                toPath: folder.appendingPathComponent("\(queue.rawValue).json").path)
        }
        try change(folder)
        do {
            return .success(try Topology.load(from: folder.path))
        } catch let error as TopologyError {
            return .failure(error)
        }
    }

    @Test("a queue Bullpen does not know, a bad value or a missing queue is refused, naming the file")
    func refused() throws {
        let unknown = try loadChanged { folder in
            try Data(#"{"name": "extra", "maxPriority": 5, "retryDelaysSeconds": [1], "maxAttempts": 3}"#.utf8)
                .write(to: folder.appendingPathComponent("extra.json"))
        }
        guard case .failure(let unknownError) = unknown else {
            Issue.record("loaded an unknown queue")
            return
        }
        #expect(unknownError.description.contains("extra.json"))
        #expect(unknownError.description.contains("not one of Bullpen's work queues"))

        let badValue = try loadChanged { folder in
            try Data(#"{"name": "review", "maxPriority": 500, "retryDelaysSeconds": [1], "maxAttempts": 3}"#.utf8)
                .write(to: folder.appendingPathComponent("review.json"))
        }
        guard case .failure(let badError) = badValue else {
            Issue.record("loaded maxPriority 500")
            return
        }
        #expect(badError.description.contains("review.json"))
        #expect(badError.description.contains("maxPriority"))

        let missing = try loadChanged { folder in
            try FileManager.default.removeItem(at: folder.appendingPathComponent("notify.json"))
        }
        guard case .failure(let missingError) = missing else {
            Issue.record("loaded without notify")
            return
        }
        #expect(missingError.description.contains("no queue file for notify"))
    }
}

@Suite("Schedule files")
struct ScheduleFilesTests {
    @Test("ticks align to the interval")
    func ticks() {
        let date = Date(timeIntervalSince1970: 1_000_000_125.7)
        #expect(Schedule.tick(containing: date, everySeconds: 60) == Date(timeIntervalSince1970: 1_000_000_080))
        #expect(Schedule.tick(containing: date, everySeconds: 1) == Date(timeIntervalSince1970: 1_000_000_125))
    }

    @Test("the repository's schedule loads; a schedule naming a job the binary lacks is refused")
    func load() throws {
        let schedule = try Schedule.load(from: Repository.root + "/Config/schedule.json")
        #expect(schedule.jobs.map(\.name).contains("sla-monitor"))
        let error = #expect(throws: ScheduleError.self) {
            try Scheduler(
                schedule: Schedule(jobs: [.init(name: "nope", everySeconds: 1)]), jobs: [],
                postgres: try PostgresConfiguration(url: "postgresql://u:p@127.0.0.1:1/db"), worker: "a",
                metrics: WorkerMetrics(), logger: Logger(label: "test"))
        }
        #expect(error?.description.contains("nope") == true)
    }
}

@Suite("Topology modes")
struct TopologyModeTests {
    @Test("quorum mode: queues with priorities in two bands, picked by priority; classic unchanged")
    func bands() throws {
        let classic = try Topology.load(from: Repository.root + "/Queues", prefix: "x")
        let quorum = try Topology.load(from: Repository.root + "/Queues", prefix: "x", mode: .quorum)
        #expect(classic.bands(.dispatch) == [.normal] && classic.routingKey(.dispatch, priority: 5) == "dispatch")
        #expect(classic.workQueueArguments(classic.spec(.dispatch))["x-max-priority"] == .int32(5))
        #expect(quorum.bands(.dispatch) == [.normal, .high] && quorum.bands(.billing) == [.normal])
        #expect(quorum.routingKey(.dispatch, priority: 5) == "dispatch.high")
        #expect(quorum.routingKey(.dispatch, priority: 4) == "dispatch.high")
        #expect(
            quorum.routingKey(.dispatch, priority: 3) == "dispatch"
                && quorum.routingKey(.dispatch, priority: nil) == "dispatch")
        #expect(quorum.routingKey(.billing, priority: 5) == "billing")
        #expect(quorum.workQueue(.review, band: .high) == "x.review.high")
        #expect(quorum.retryRoutingKey(.review, tier: 2, band: .high) == "review.high.retry.2")
        let arguments = quorum.workQueueArguments(quorum.spec(.dispatch))
        #expect(arguments["x-queue-type"] == .string("quorum") && arguments["x-max-priority"] == nil)
        #expect(arguments["x-dead-letter-strategy"] == .string("at-least-once"))
    }
}

@Suite("Headers stored as JSON")
struct HeadersJSONTests {
    @Test("a header table survives the round trip through jsonb text")
    func roundTrip() {
        let headers: AMQPTable = [
            MessageHeader.attempt: .int32(3), "tenant": .string("client-9"), "flag": .bool(true), "ratio": .double(0.5),
        ]
        let back = AMQPTable(json: headers.jsonString)
        #expect(back[MessageHeader.attempt]?.intValue == 3)
        #expect(back["tenant"] == .string("client-9"))
        #expect(back["flag"] == .bool(true))
        #expect(back["ratio"] == .double(0.5))
        #expect(AMQPTable(json: "not json").isEmpty)
    }
}

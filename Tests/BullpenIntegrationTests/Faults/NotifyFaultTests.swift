import BullpenDomain
import BullpenMessaging
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Foundation
import HummingbirdTesting
import PostgreSQL
import Testing

/// Email with real worker processes and the sandbox's Resend: each email sent exactly once, counted at the
/// stand-in, through rate limits and errors, a provider down past the tiers, and a worker killed after the
/// provider accepted. Part of the fault tests (BULLPEN_FAULT_TESTS=1).
@Suite("Faults: notify", .serialized, .enabled(if: ProcessInfo.processInfo.environment["BULLPEN_FAULT_TESTS"] == "1"))
final class NotifyFaultTests: @unchecked Sendable {
    let fixture: StackFixture
    /// The worker processes' queue files: the notify queue's tiers cut to 1 second (five attempts).
    let queuesFolder: String

    init() throws {
        fixture = try StackFixture("nfault") { spec in
            guard spec.name == WorkQueue.notify.rawValue else { return spec }
            var short = spec
            short.retryDelaysSeconds = [1, 1, 1, 1]
            short.maxAttempts = 5
            return short
        }
        queuesFolder = try queueFiles(of: fixture.topology, stem: "nfault")
    }

    deinit {
        fixture.tearDown()
        try? FileManager.default.removeItem(atPath: queuesFolder)
    }

    func worker(_ name: String, resendPort: Int) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: [
                "--queues", WorkQueue.notify.rawValue, "--consumers", "2", "--metrics-port", "0", "--schedule", "none",
                "--shutdown-seconds", "5",
            ],
            schema: fixture.database.schema, prefix: fixture.topology.prefix, name: name,
            extraEnvironment: [
                "BULLPEN_RESEND_URL": "http://127.0.0.1:\(resendPort)", "BULLPEN_RESEND_API_KEY": "re_fault_key",
                "BULLPEN_OPERATOR_EMAIL": "ops@fault.test", "BULLPEN_QUEUES_DIR": queuesFolder,
                "BULLPEN_TEMPLATES_DIR": TestEnvironment.repositoryRoot + "/Config/templates",
            ])
    }

    /// The stand-in, live on a port of its own, with `faults` set, for the length of `body`.
    func withOutbound(
        _ faults: SandboxOutbound.Faults, _ body: @escaping @Sendable (SandboxOutbound, Int) async throws -> Void
    ) async throws {
        let outbound = SandboxOutbound(configuration: .init(port: 0), logger: fixture.logger)
        outbound.setFaults(faults)
        try await outbound.application().test(.live) { app in try await body(outbound, try #require(app.port)) }
    }

    /// `count` operator alerts written as a change writes them (their messages in the outbox, which the
    /// worker's relay publishes).
    func alerts(_ count: Int, _ stem: String) throws {
        try fixture.db.transaction { tx in
            try Notify.enqueue(
                (1...count).map {
                    Notify.operatorAlert(
                        .taskFailed, cause: "\(stem)-\($0)", taskID: nil, projectID: nil,
                        data: ["taskId": String($0), "title": "Fault \(stem) \($0)", "attempt": "3", "error": "bad"])
                }, in: tx)
        }
    }

    func sent() throws -> Int { try fixture.count("SELECT count(*) FROM notifications WHERE status = 'sent'") }

    /// Every email the stand-in recorded once, and how many distinct notifications they were.
    func exactlyOnce(_ outbound: SandboxOutbound, _ count: Int) {
        let keys = outbound.snapshot.emails.compactMap(\.idempotencyKey)
        #expect(keys.count == count, "emails recorded")
        #expect(Set(keys).count == count, "no email twice")
    }

    @Test("429 then 500 for a while, then 200: forty emails, each sent exactly once")
    func rateLimitsThenErrors() async throws {
        var faults = SandboxOutbound.Faults()
        faults.rateLimitNext = 15
        faults.retryAfterSeconds = 1
        faults.failNext = 15
        try await withOutbound(faults) { outbound, port in
            let worker = try self.worker("notify-fault-limits", resendPort: port)
            defer { _ = worker.terminate() }
            try self.alerts(40, "limits")
            try worker.start()
            #expect(try eventually(timeout: .seconds(60)) { try self.sent() == 40 })
            try await Task.sleep(for: .milliseconds(500))
            self.exactlyOnce(outbound, 40)
            #expect(outbound.snapshot.requests >= 70, "30 refused requests, retried")
        }
    }

    @Test("the provider down past the tiers: parked with its reason; back and replayed (twice): sent once")
    func downPastTheTiers() async throws {
        var faults = SandboxOutbound.Faults()
        faults.failNext = 1000
        try await withOutbound(faults) { outbound, port in
            let worker = try self.worker("notify-fault-down", resendPort: port)
            defer { _ = worker.terminate() }
            try self.alerts(1, "down")
            try worker.start()
            #expect(
                try eventually(timeout: .seconds(40)) {
                    try self.fixture.count("SELECT count(*) FROM dead_letters WHERE queue = 'notify'") == 1
                })
            let parked = try #require(
                try self.fixture.db.query("SELECT id, reason, attempts FROM dead_letters WHERE queue = 'notify'").first)
            #expect(try parked.decode("attempts", as: Int.self) == 5)
            #expect(try parked.decode("reason", as: String.self).contains("500"), "the provider's answer")
            #expect(outbound.snapshot.emails.isEmpty)
            outbound.setFaults(SandboxOutbound.Faults())
            let id: Int64 = try parked.decode("id")
            for _ in 1...2 {
                try self.fixture.db.transaction { tx in _ = try DeadLetters.replay(ids: [id], in: tx) }
            }
            #expect(try eventually(timeout: .seconds(20)) { try self.sent() == 1 })
            try await Task.sleep(for: .seconds(1))
            self.exactlyOnce(outbound, 1)
        }
    }

    @Test("a worker killed after the provider accepted (its answer late): the next sends under the same key; one email")
    func killedAfterAccepted() async throws {
        var faults = SandboxOutbound.Faults()
        faults.slowAfterAcceptMs = 3000
        try await withOutbound(faults) { outbound, port in
            let first = try self.worker("notify-fault-1", resendPort: port)
            let second = try self.worker("notify-fault-2", resendPort: port)
            defer {
                first.kill9()
                _ = second.terminate()
            }
            try self.alerts(1, "killed")
            try first.start()
            #expect(try eventually(timeout: .seconds(20)) { outbound.snapshot.emails.count == 1 })
            first.kill9()
            #expect(try self.sent() == 0, "killed before it could record the send")
            outbound.setFaults(SandboxOutbound.Faults())
            try second.start()
            #expect(try eventually(timeout: .seconds(30)) { try self.sent() == 1 })
            #expect(outbound.snapshot.requests == 2, "sent again, under the same key")
            self.exactlyOnce(outbound, 1)
            let provider = try self.fixture.db.query("SELECT provider_id FROM notifications").first?.decode(
                "provider_id", as: String?.self)
            #expect(provider == outbound.snapshot.emails.first?.id, "the provider's id from its first answer")
        }
    }
}

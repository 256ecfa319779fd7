import BullpenMessaging
import BullpenSandbox
import Crypto
import Foundation
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import OpenClaw
import Testing

/// Bullpen's gateway client against the sandbox gateway, over a real WebSocket on loopback: the handshake,
/// requests, `agent`'s two answers and its idempotency, and what the client does when the gateway refuses,
/// starts slowly, restarts or drops the connection.
@Suite("OpenClaw gateway client", .serialized)
struct GatewayClientTests {
    let logger = Logger(label: "test")

    /// Runs `body` with a live sandbox gateway and a client connected (or connecting) to it.
    func withGateway(
        token: String = "sandbox", clientToken: String? = nil, runDuration: Duration = .milliseconds(100),
        _ body: @escaping @Sendable (SandboxGateway, GatewayClient) async throws -> Void
    ) async throws {
        let gateway = SandboxGateway(
            configuration: .init(port: 0, token: token, tickInterval: .milliseconds(200), runDuration: runDuration),
            logger: logger)
        try await gateway.application().test(.live) { client in
            let port = try #require(client.port)
            let gatewayClient = GatewayClient(
                configuration: .init(
                    url: "ws://127.0.0.1:\(port)", token: clientToken ?? token,
                    identity: DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey()), instanceID: "test",
                    minimumBackoff: .milliseconds(100), maximumBackoff: .milliseconds(400)),
                logger: logger)
            let running = Task { try await gatewayClient.run() }
            defer { running.cancel() }
            try await body(gateway, gatewayClient)
        }
    }

    func agentParams(_ key: String, message: String = "Do the work.") -> JSONValue {
        [
            "message": .string(message), "agentId": "main", "sessionKey": .string("agent:main:bullpen:\(key)"),
            "label": "Bullpen test", "timeout": 60, "deliver": false, "idempotencyKey": .string(key),
        ]
    }

    @Test("the handshake negotiates protocol 4; a request gets its answer; ticks arrive")
    func handshake() async throws {
        try await withGateway { gateway, client in
            let status = try await client.request("status", [:], timeout: .seconds(5))
            #expect(status["ok"]?.bool == true)
            #expect(client.status.connected && client.status.protocolVersion == 4)
            #expect(client.status.tickInterval == .milliseconds(200))
            try await Task.sleep(for: .milliseconds(500))
            #expect(client.status.lastTick != nil)
            #expect(gateway.snapshot.connectionsAccepted == 1)
        }
    }

    @Test("agent answers accepted, then final; the same key again is the same run")
    func agentRun() async throws {
        try await withGateway { gateway, client in
            let answers = try await client.send("agent", agentParams("bullpen-1-1"), timeout: .seconds(5))
            let accepted = try await answers.next(timeout: .seconds(5), what: "accepted")
            #expect(accepted["status"]?.string == "accepted" && accepted["runId"]?.string == "bullpen-1-1")
            let final = try await answers.next(timeout: .seconds(5), what: "final")
            answers.cancel()
            #expect(final["status"]?.string == "ok")
            #expect(final["result"]?["payloads"]?.array?.first?["text"]?.string?.contains("bullpen-1-1") == true)

            let again = try await client.request("agent", agentParams("bullpen-1-1"), timeout: .seconds(5))
            #expect(again["status"]?.string == "ok", "a finished run's key answers its final reply")
            #expect(gateway.snapshot.runsStarted == 1)
            let waited = try await client.request("agent.wait", ["runId": "bullpen-1-1", "timeoutMs": 1000])
            #expect(waited["status"]?.string == "ok" && waited["endedAt"] != nil)
        }
    }

    @Test("a wrong token is a distinct, lasting error, and nothing is sent")
    func wrongToken() async throws {
        try await withGateway(token: "right", clientToken: "wrong") { gateway, client in
            do {
                _ = try await client.request("status", [:], timeout: .seconds(1))
                Issue.record("a request went through with the wrong token")
            } catch {
                #expect("\(error)".contains("AUTH_TOKEN_MISMATCH"))
            }
            #expect(client.status.lastError?.contains("AUTH_TOKEN_MISMATCH") == true)
            #expect(gateway.snapshot.connectionsAccepted == 0)
        }
    }

    @Test("a starting gateway (1013) is retried until it is up")
    func starting() async throws {
        try await withGateway { gateway, client in
            var faults = SandboxGateway.Faults()
            faults.starting = true
            gateway.setFaults(faults)
            try await Task.sleep(for: .milliseconds(700))
            #expect(client.status.lastError?.contains("starting") == true)
            gateway.setFaults(SandboxGateway.Faults())
            let status = try await client.request("status", [:], timeout: .seconds(5))
            #expect(status["ok"]?.bool == true)
        }
    }

    @Test("a planned restart (shutdown, 1012): the client reconnects after restartExpectedMs")
    func restart() async throws {
        try await withGateway { gateway, client in
            _ = try await client.request("status", [:], timeout: .seconds(5))
            await gateway.announceRestart(restartExpectedMs: 300)
            try await Task.sleep(for: .milliseconds(100))
            _ = try await client.request("status", [:], timeout: .seconds(5))
            #expect(client.status.connections == 2)
            #expect(gateway.snapshot.connectionsAccepted == 2)
        }
    }

    @Test("refused upgrades for a while: the client keeps trying with its backoff and connects once they stop")
    func refusedUpgrades() async throws {
        try await withGateway { gateway, client in
            var faults = SandboxGateway.Faults()
            faults.refuseConnections = true
            gateway.setFaults(faults)
            await gateway.dropConnections()
            try await Task.sleep(for: .milliseconds(900))
            #expect(!client.status.connected)
            let refused = gateway.snapshot.connectionsAccepted
            gateway.setFaults(SandboxGateway.Faults())
            let healed = ContinuousClock.now
            _ = try await client.request("status", [:], timeout: .seconds(5))
            #expect(
                ContinuousClock.now - healed < .seconds(1), "within the largest pause (400 ms here) of the window's end"
            )
            #expect(gateway.snapshot.connectionsAccepted == refused + 1)
        }
    }

    @Test(
        "a gateway that takes the TCP connection and never answers the upgrade: the attempt is given up at the handshake timeout and tried again"
    )
    func upgradeNeverAnswered() async throws {
        let accepted = ManagedCounter()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.increment()
                return channel.eventLoop.makeSucceededVoidFuture()  // reads nothing, answers nothing
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let client = GatewayClient(
            configuration: .init(
                url: "ws://127.0.0.1:\(port)", token: "sandbox",
                identity: DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey()), instanceID: "test",
                handshakeTimeout: .milliseconds(500), minimumBackoff: .milliseconds(100),
                maximumBackoff: .milliseconds(200)),
            logger: logger)
        let running = Task { try await client.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .seconds(2))
        #expect(accepted.value >= 3, "attempts: \(accepted.value)")
        #expect(client.status.lastError?.contains("did not answer in time") == true, "\(client.status)")
    }

    @Test(
        "a real worker whose gateway is away (its reconnect pause grown to 8 s) stops on SIGTERM at once: shutdown never waits on the gateway"
    )
    func workerStopsWhileGatewayAway() async throws {
        let stack = try StackFixture("gw-stop")
        defer { stack.tearDown() }
        let worker = try WorkerProcess(
            arguments: ["--queues", "dispatch", "--consumers", "1", "--metrics-port", "0", "--schedule", "none"],
            schema: stack.database.schema, prefix: stack.topology.prefix, name: "gateway-away",
            extraEnvironment: [
                "BULLPEN_GATEWAY_URL": "ws://127.0.0.1:1", "BULLPEN_GATEWAY_TOKEN": "sandbox",
                "BULLPEN_CALLBACK_SECRET": String(repeating: "s", count: 40),
                "BULLPEN_DEVICE_KEY": FileManager.default.temporaryDirectory.path + "/gw-stop-\(UUID()).key",
            ])
        try worker.start()
        // Refused at once each time: pauses of 1, 2, 4 and then 8 s.
        try await Task.sleep(for: .seconds(9))
        #expect(worker.isRunning)
        let (status, took) = worker.terminate()
        #expect(status == 0, "exit status")
        #expect(took < .seconds(4), "stopped in \(took)")
    }

    @Test("two tick intervals of silence mean a dead connection: the client closes it and connects again")
    func silence() async throws {
        try await withGateway { gateway, client in
            _ = try await client.request("status", [:], timeout: .seconds(5))
            var faults = SandboxGateway.Faults()
            faults.silent = true
            gateway.setFaults(faults)
            try await Task.sleep(for: .milliseconds(700))
            gateway.setFaults(SandboxGateway.Faults())
            _ = try await client.request("status", [:], timeout: .seconds(5))
            #expect(client.status.connections >= 2)
        }
    }

    @Test("a connection dropped mid-run fails the pending answer (outcome unknown); the key still names one run")
    func dropMidRun() async throws {
        try await withGateway(runDuration: .milliseconds(300)) { gateway, client in
            var faults = SandboxGateway.Faults()
            faults.dropMidRun = true
            gateway.setFaults(faults)
            let answers = try await client.send("agent", agentParams("bullpen-2-1"), timeout: .seconds(5))
            let accepted = try await answers.next(timeout: .seconds(5), what: "accepted")
            #expect(accepted["status"]?.string == "accepted")
            await #expect(throws: GatewayError.self) { try await answers.next(timeout: .seconds(5), what: "final") }
            gateway.setFaults(SandboxGateway.Faults())
            // Sent again on the new connection: in flight or finished, never a second run.
            let again = try await client.request("agent", agentParams("bullpen-2-1"), timeout: .seconds(5))
            #expect(["in_flight", "ok"].contains(again["status"]?.string))
            #expect(gateway.snapshot.runsStarted == 1)
        }
    }
}

/// A counter shared with NIO's threads.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

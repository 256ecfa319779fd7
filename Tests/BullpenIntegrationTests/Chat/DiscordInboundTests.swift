import BullpenDomain
import BullpenMessaging
import BullpenSandbox
import BullpenStore
import BullpenWorkers
import Discord
import Foundation
import HummingbirdTesting
import Testing

/// Messages from a client's Discord channel, end to end on the real services: the worker's Discord Gateway
/// connection (the sandbox's stand-in, the same frames), the command queue, the project's thread. A drop
/// resumes and the message posted meanwhile arrives once; a replay of everything is deduplicated; a second
/// worker waits for the first's lock and takes over when it goes.
@Suite("Discord inbound", .serialized)
final class DiscordInboundTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }
    static let token = "discord-test-bot-token"
    static let channel = "123456789012345678"

    init() throws { fixture = try OperatorAPIFixture("discord") }
    deinit { fixture.tearDown() }

    /// The outbound sandbox with its Discord Gateway, live, and `body` given it and its WebSocket URL.
    func withDiscord(
        _ body: @escaping @Sendable (SandboxDiscordGateway, String) async throws -> Void
    ) async throws {
        let outbound = SandboxOutbound(
            configuration: .init(port: 0, discordBotToken: Self.token, discordHeartbeat: .milliseconds(300)),
            logger: stack.logger)
        try await outbound.application().test(.live) { client in
            let port = try #require(client.port)
            try await body(
                try #require(outbound.discordGateway), "ws://127.0.0.1:\(port)/discord/gateway?v=10&encoding=json")
        }
    }

    /// A worker's Discord inbound, running until the returned task is cancelled.
    /// `failures`: how many publishes fail before they succeed (a broker away).
    func inbound(
        url: String, token: String = token, retry: Duration = .milliseconds(500), failures: Int = 0
    ) -> (DiscordInbound, Task<Void, Never>) {
        let publisher = ConfirmingPublisher(configuration: try! TestEnvironment.amqp(), logger: stack.logger)
        publisher.start()
        let topology = stack.topology
        let failing = Counter(failures)
        let inbound = DiscordInbound(
            configuration: .init(
                url: url, token: token, minimumBackoff: .milliseconds(100), maximumBackoff: .seconds(1)),
            postgres: stack.database.configuration, retry: retry, logger: stack.logger
        ) { message in
            if failing.take() { throw TestFailure("the broker is away") }
            try await publisher.publish(try Envelope.outgoing(message, topology: topology, appID: "test"))
        }
        let task = Task {
            try? await inbound.run()
            publisher.shutdown()
        }
        return (inbound, task)
    }

    /// A client whose Discord channel is ``channel``, and its project.
    func linked(_ api: APIClient, _ name: String, _ email: String) async throws -> (client: Int64, project: Int64) {
        let client = try await api.create(
            "/v1/clients", #"{"name": "\#(name)", "email": "\#(email)", "discordChannelId": "\#(Self.channel)"}"#,
            "clientId")
        let project = try await api.create(
            "/v1/projects", #"{"clientId": \#(client), "name": "Launch", "type": "website", "tier": "pro"}"#,
            "projectId")
        return (client, project)
    }

    func threadCount(_ project: Int64) throws -> Int {
        try stack.count("SELECT count(*) FROM client_messages WHERE project_id = $1 AND channel = 'discord'", [project])
    }

    @Test(
        "a person's message in a client's Discord channel lands on its project's thread once; a bot's does not; another channel's is kept as unmatched"
    )
    func messages() async throws {
        try await fixture.run { api in
            let (client, project) = try await self.linked(api, "Acme", "ops@acme.test")
            #expect(try await api.get("/v1/clients/\(client)").json["discordChannelId"] as? String == Self.channel)
            let taken = try await api.command(
                .post, "/v1/clients", #"{"name": "Other", "email": "o@x.test", "discordChannelId": "\#(Self.channel)"}"#
            )
            #expect(taken["error"] as? String == "another client has the Discord channel \(Self.channel)")
            try await self.withDiscord { discord, url in
                let (inbound, task) = self.inbound(url: url)
                defer { task.cancel() }
                #expect(try eventually { inbound.status?.connected == true })
                _ = await discord.post(channelID: Self.channel, content: "Can we see the draft today?")
                _ = await discord.post(channelID: Self.channel, content: "Automated reminder", bot: true)
                _ = await discord.post(channelID: "999999999999999999", content: "Not a client's channel")
                #expect(try eventually { try self.threadCount(project) == 1 })
                #expect(
                    try self.stack.count(
                        """
                        SELECT count(*) FROM client_messages WHERE project_id = $1 AND channel = 'discord'
                           AND content = 'Can we see the draft today?' AND sender = 'client'
                           AND sender_name = 'Acme (Discord client-person)'
                        """, [project]) == 1)
                #expect(
                    try eventually {
                        try self.stack.count("SELECT count(*) FROM events WHERE type = 'discord.unmatched'") == 1
                    })
                try await Task.sleep(for: .milliseconds(500))
                #expect(try self.threadCount(project) == 1, "the bot's message stays out")
                // The session heartbeats as Discord asks.
                #expect(try eventually { discord.snapshot.heartbeats >= 2 })
            }
        }
    }

    @Test(
        "a drop resumes the session and the message posted meanwhile arrives once; a resume that replays everything is deduplicated; Invalid Session identifies anew"
    )
    func resumes() async throws {
        try await fixture.run { api in
            let (_, project) = try await self.linked(api, "Beta", "ops@beta.test")
            try await self.withDiscord { discord, url in
                let (inbound, task) = self.inbound(url: url)
                defer { task.cancel() }
                #expect(try eventually { inbound.status?.connected == true })
                _ = await discord.post(channelID: Self.channel, content: "first")
                #expect(try eventually { try self.threadCount(project) == 1 })

                await discord.drop()
                _ = await discord.post(channelID: Self.channel, content: "while away")
                #expect(try eventually(timeout: .seconds(10)) { try self.threadCount(project) == 2 })
                #expect(discord.snapshot.resumes == 1 && discord.snapshot.identifies == 1)

                discord.replayEverythingNext()
                await discord.askReconnect()
                #expect(try eventually(timeout: .seconds(10)) { discord.snapshot.resumes == 2 })
                _ = await discord.post(channelID: Self.channel, content: "after the replay")
                #expect(try eventually { try self.threadCount(project) == 3 })
                #expect(
                    try eventually {
                        try self.stack.count("SELECT count(*) FROM inbox WHERE message_id LIKE 'discord:%'") == 3
                    })
                try await Task.sleep(for: .milliseconds(500))
                #expect(try self.threadCount(project) == 3, "the replayed messages are the same messages")

                await discord.invalidate()
                #expect(try eventually(timeout: .seconds(10)) { discord.snapshot.identifies == 2 })
                _ = await discord.post(channelID: Self.channel, content: "new session")
                #expect(try eventually { try self.threadCount(project) == 4 })
            }
        }
    }

    @Test("a message whose publish fails is not counted handled: the resume replays it, and it arrives once")
    func publishFails() async throws {
        try await fixture.run { api in
            let (_, project) = try await self.linked(api, "Delta", "ops@delta.test")
            try await self.withDiscord { discord, url in
                let (inbound, task) = self.inbound(url: url, failures: 2)
                defer { task.cancel() }
                #expect(try eventually { inbound.status?.connected == true })
                _ = await discord.post(channelID: Self.channel, content: "kept through a broker outage")
                let arrived = try eventually(timeout: .seconds(10)) { try self.threadCount(project) == 1 }
                #expect(arrived)
                #expect(discord.snapshot.resumes == 2 && discord.snapshot.identifies == 1)
            }
        }
    }

    @Test("one connection per deployment: a second worker waits for the lock and takes over when the first stops")
    func oneConnection() async throws {
        try await fixture.run { api in
            let (_, project) = try await self.linked(api, "Gamma", "ops@gamma.test")
            try await self.withDiscord { discord, url in
                let (first, firstTask) = self.inbound(url: url)
                #expect(try eventually { first.status?.connected == true })
                let (second, secondTask) = self.inbound(url: url)
                defer { secondTask.cancel() }
                try await Task.sleep(for: .seconds(1))
                #expect(second.status == nil && discord.snapshot.connections == 1)
                firstTask.cancel()
                #expect(try eventually(timeout: .seconds(10)) { second.status?.connected == true })
                _ = await discord.post(channelID: Self.channel, content: "to whoever listens")
                #expect(try eventually { try self.threadCount(project) == 1 })
            }
        }
    }

    @Test("a token Discord refuses stops the connection for good, saying why")
    func refusedToken() async throws {
        try await withDiscord { discord, url in
            let (inbound, task) = self.inbound(url: url, token: "wrong")
            defer { task.cancel() }
            #expect(try eventually { discord.snapshot.refusedTokens == 1 })
            _ = await task.value
            #expect(discord.snapshot.connections == 1, "not retried")
            _ = inbound
        }
    }
}

/// Counts down: `take()` is true while failures are left.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ left: Int) { self.left = left }
    func take() -> Bool {
        lock.withLock {
            guard left > 0 else { return false }
            left -= 1
            return true
        }
    }
}

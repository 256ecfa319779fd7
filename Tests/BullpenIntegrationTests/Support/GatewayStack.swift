import BullpenMessaging
import BullpenSandbox
import BullpenWorkers
import Crypto
import Foundation
import HummingbirdTesting
import OpenClaw
import Testing

extension OperatorAPIFixture {
    /// Ingest (live), the sandbox gateway (live), a client of it, the dispatch and review consumers (and the
    /// notify consumer, given its handler) and an outbox relay, for the length of `body`.
    func withGateway(
        hookSecret: String, tokens: CallbackTokenIssuer, runDuration: Duration = .milliseconds(100),
        agents: Set<String>? = nil, autoDispatch: Bool = false, batchSize: Int = 1, notify: NotificationHandler? = nil,
        clientBox: GatewayClientBox? = nil, scopes: [String] = Handshake.adminScopes,
        _ body: @escaping @Sendable (APIClient, SandboxGateway) async throws -> Void
    ) async throws {
        try await run(.live) { api in
            let ingestPort = try #require(api.client.port)
            let gateway = SandboxGateway(
                configuration: .init(
                    port: 0, token: "gw", tickInterval: .milliseconds(500), runDuration: runDuration, agents: agents,
                    hookURL: "http://127.0.0.1:\(ingestPort)/webhooks/agents/event", hookSecret: hookSecret),
                logger: self.stack.logger)
            try await gateway.application().test(.live) { gatewayApp in
                let client = GatewayClient(
                    configuration: .init(
                        url: "ws://127.0.0.1:\(try #require(gatewayApp.port))", token: "gw",
                        identity: DeviceIdentity(privateKey: Curve25519.Signing.PrivateKey()), instanceID: "test",
                        scopes: scopes),
                    logger: self.stack.logger)
                clientBox?.client = client
                let connection = Task { try await client.run() }
                defer { connection.cancel() }
                let publisher = ConfirmingPublisher(
                    configuration: try TestEnvironment.amqp(), logger: self.stack.logger)
                publisher.start()
                defer { publisher.shutdown() }
                let topology = self.stack.topology
                let outcomes = RunOutcomes(grace: .milliseconds(300), logger: self.stack.logger) { message in
                    try await publisher.publish(try Envelope.outgoing(message, topology: topology, appID: "test"))
                }
                // The worker's way with a final reply: its usage recorded, then its result published.
                let roster = GatewayRoster(
                    client: client, postgres: self.stack.database.configuration, logger: self.stack.logger)
                let handlers = try Handlers.registry(
                    dispatch: .init(
                        gateway: GatewayRuns(
                            client: client,
                            onFinal: { final in
                                await roster.recordUsage(final)
                                await outcomes.handle(final)
                            }), tokens: tokens,
                        callbackURL: "http://127.0.0.1:\(ingestPort)/webhooks/agents/task-result",
                        autoDispatch: autoDispatch),
                    notify: notify)
                let dispatch = try self.stack.consumer(queue: .dispatch, batchSize: batchSize, handlers: handlers)
                let review = try self.stack.consumer(queue: .review, handlers: handlers)
                let notifier = try notify.map { _ in try self.stack.consumer(queue: .notify, handlers: handlers) }
                dispatch.start()
                review.start()
                notifier?.start()
                let relay = RelayLoop(stack: self.stack)
                defer {
                    relay.stop()
                    dispatch.stop()
                    review.stop()
                    notifier?.stop()
                }
                try await body(api, gateway)
            }
        }
    }
}

/// Hands a test the gateway client ``OperatorAPIFixture/withGateway`` made.
final class GatewayClientBox: @unchecked Sendable {
    var client: GatewayClient?
}

import AMQP
import BullpenMessaging
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Confirming publisher")
final class ConfirmingPublisherTests: @unchecked Sendable {
    let queue = TestEnvironment.uniqueName("pub")
    /// Declares the test's queue, and deletes it when the test ends.
    let admin: AMQPConnection

    init() throws {
        admin = try AMQPConnection(try TestEnvironment.amqp())
        try admin.openChannel(1)
        try admin.declareQueue(queue)
    }

    deinit {
        _ = try? admin.deleteQueue(queue)
        admin.close()
    }

    func startedPublisher(_ configuration: AMQPConfiguration? = nil) throws -> ConfirmingPublisher {
        let publisher = ConfirmingPublisher(
            configuration: try configuration ?? TestEnvironment.amqp(), logger: Logger(label: "test"))
        publisher.start()
        return publisher
    }

    func message(_ id: String, routingKey: String? = nil) -> OutgoingMessage {
        OutgoingMessage(
            exchange: "", routingKey: routingKey ?? queue, body: Array(id.utf8),
            properties: AMQPProperties(messageID: id))
    }

    @Test("concurrent publishes each return after their confirm, and all arrive")
    func concurrent() async throws {
        let publisher = try startedPublisher()
        defer { publisher.shutdown() }
        #expect(eventually { publisher.isConnected })

        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<500 {
                group.addTask { [self] in try await publisher.publish(message("m\(i)")) }
            }
            try await group.waitForAll()
        }
        #expect(try admin.declareQueue(queue, passive: true).messageCount == 500)
    }

    @Test("as a service: publishes until graceful shutdown, which closes it; later publishes are refused")
    func asService() async throws {
        let publisher = ConfirmingPublisher(configuration: try TestEnvironment.amqp(), logger: Logger(label: "test"))
        let group = ServiceGroup(services: [publisher], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<200 where !publisher.isConnected { try await Task.sleep(for: .milliseconds(50)) }
            try await withThrowingTaskGroup(of: Void.self) { publishes in
                for i in 0..<100 { publishes.addTask { [self] in try await publisher.publish(message("s\(i)")) } }
                try await publishes.waitForAll()
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try admin.declareQueue(queue, passive: true).messageCount == 100)
        #expect(!publisher.isConnected)
        await #expect(throws: PublishError.self) { try await publisher.publish(message("late")) }
    }

    @Test("an unroutable message is an error, not a success")
    func unroutable() async throws {
        let publisher = try startedPublisher()
        defer { publisher.shutdown() }
        await #expect(throws: PublishError.self) {
            try await publisher.publish(message("x", routingKey: "nowhere-\(queue)"))
        }
    }

    @Test("with no broker, publishes fail at once as unavailable")
    func unavailable() async throws {
        var config = try TestEnvironment.amqp()
        config.port = 1
        let publisher = try startedPublisher(config)
        defer { publisher.shutdown() }
        let started = ContinuousClock.now
        do {
            try await publisher.publish(message("x"))
            Issue.record("publish succeeded without a broker")
        } catch let error as PublishError {
            #expect(error.kind == .unavailable)
        }
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test("after the broker drops the connection, the publisher reconnects and publishes again")
    func reconnects() async throws {
        let publisher = try startedPublisher()
        defer { publisher.shutdown() }
        try await publisher.publish(message("before"))

        // The broker drops the publisher's connection, as on a broker restart or a network cut.
        try TestEnvironment.closeBrokerConnection(clientPort: try #require(publisher.localPort))
        var delivered = false
        let deadline = ContinuousClock.now + .seconds(15)
        while !delivered, ContinuousClock.now < deadline {
            do {
                try await publisher.publish(message("after"))
                delivered = true
            } catch {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(delivered)
        #expect(try admin.declareQueue(queue, passive: true).messageCount == 2)
    }
}

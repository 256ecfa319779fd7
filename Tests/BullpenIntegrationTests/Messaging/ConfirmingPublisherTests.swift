import AMQP
import BullpenMessaging
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Confirming publisher", .serialized)  // two tests raise a broker-wide memory alarm
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

    @Test("publishes awaiting their confirms when the connection drops are published again on the next one")
    func retriesWithinWindow() async throws {
        let outcomes = try await publishWhileDropped(window: .seconds(10))
        #expect(outcomes.allSatisfy { $0 == nil })
        #expect(try queuedIDs() == Set(["before"] + (0..<5).map { "held-\($0)" }))
    }

    @Test("without a window, publishes awaiting their confirms when the connection drops fail as unavailable")
    func failsWithoutWindow() async throws {
        let outcomes = try await publishWhileDropped(window: .zero)
        #expect(outcomes.allSatisfy { $0 == .unavailable })
    }

    /// Five publishes held unconfirmed by the broker (a memory alarm blocks publishers), their connection
    /// dropped, then the alarm lifted, as when a broker node stops under its publishers: each one's error
    /// kind, nil for confirmed.
    func publishWhileDropped(window: Duration) async throws -> [PublishError.Kind?] {
        let publisher = try startedPublisher()
        defer { publisher.shutdown() }
        try await publisher.publish(message("before"))
        let port = try #require(publisher.localPort)

        _ = try TestEnvironment.rabbitmqctl(["set_vm_memory_high_watermark", "absolute", "1"])
        var alarmOn = true
        defer { if alarmOn { _ = try? TestEnvironment.rabbitmqctl(["set_vm_memory_high_watermark", "0.4"]) } }
        let held = (0..<5).map { i in
            Task { [self] () -> PublishError.Kind? in
                do {
                    try await publisher.publish(message("held-\(i)"), retryingFor: window)
                    return nil
                } catch let error as PublishError { return error.kind }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        try TestEnvironment.closeBrokerConnection(clientPort: port)
        try await Task.sleep(for: .milliseconds(300))
        _ = try TestEnvironment.rabbitmqctl(["set_vm_memory_high_watermark", "0.4"])
        alarmOn = false
        var outcomes: [PublishError.Kind?] = []
        for task in held { outcomes.append(try await task.value) }
        return outcomes
    }

    /// The message ids in the test's queue, taken off it.
    func queuedIDs() throws -> Set<String> {
        var ids: Set<String> = []
        while let delivery = try admin.get(queue: queue) {
            ids.insert(String(decoding: delivery.body, as: UTF8.self))
            try admin.ack(deliveryTag: delivery.deliveryTag, channel: 1)
        }
        return ids
    }

    @Test("with no broker, a retried publish gives up as unavailable once its window closes")
    func retryGivesUp() async throws {
        var config = try TestEnvironment.amqp()
        config.port = 1
        let publisher = try startedPublisher(config)
        defer { publisher.shutdown() }
        let started = ContinuousClock.now
        await #expect(throws: PublishError.self) { try await publisher.publish(message("x"), retryingFor: .seconds(1)) }
        #expect(ContinuousClock.now - started < .seconds(3))
    }
}

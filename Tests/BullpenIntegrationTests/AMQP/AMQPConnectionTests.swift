import AMQP
import Foundation
import Testing

/// The AMQP layer against the real broker.
@Suite("AMQP connection")
struct AMQPConnectionTests {
    let queue = TestEnvironment.uniqueName("amqp")

    func connect() throws -> AMQPConnection {
        let connection = try AMQPConnection(try TestEnvironment.amqp())
        try connection.openChannel(1)
        return connection
    }

    /// Reads events until `count` publishes are settled; returns the settled outcomes by message id.
    func awaitConfirms(
        _ connection: AMQPConnection, _ tracker: inout ConfirmTracker<String>, count: Int
    ) throws -> [String: ConfirmTracker<String>.Outcome] {
        var outcomes: [String: ConfirmTracker<String>.Outcome] = [:]
        let deadline = ContinuousClock.now + .seconds(10)
        while outcomes.count < count, ContinuousClock.now < deadline {
            guard let event = try connection.nextEvent(timeout: .milliseconds(200)) else { continue }
            switch event {
            case .publisherAck(_, let tag, let multiple):
                for (id, outcome) in tracker.ack(deliveryTag: tag, multiple: multiple) { outcomes[id] = outcome }
            case .publisherNack(_, let tag, let multiple):
                for (id, outcome) in tracker.nack(deliveryTag: tag, multiple: multiple) { outcomes[id] = outcome }
            case .returned(let message):
                tracker.returned(
                    messageID: message.properties.messageID, replyCode: message.replyCode, replyText: message.replyText)
            default:
                break
            }
        }
        return outcomes
    }

    @Test("a list of nodes: a node that refuses is skipped, a reconnection tries the next first, all down names each")
    func nodeList() throws {
        let live = try TestEnvironment.amqp()
        var config = live
        config.host = "127.0.0.1"
        config.port = 1  // nothing listens there
        config.alternates = [.init(host: live.host, port: live.port)]
        let connection = try AMQPConnection(config)
        defer { connection.close() }
        #expect(connection.isOpen && connection.endpoint == 1)
        try connection.reconnect()
        #expect(connection.isOpen && connection.endpoint == 1, "the dead node tried first, then the live one")
        config.alternates = [.init(host: "127.0.0.1", port: 2)]
        let error = #expect(throws: AMQPError.self) { try AMQPConnection(config) }
        #expect(error?.message.contains("127.0.0.1:1") == true && error?.message.contains("127.0.0.1:2") == true)
    }

    @Test("persistent publishes with properties are confirmed and arrive intact")
    func confirmsAndProperties() throws {
        let connection = try connect()
        defer {
            _ = try? connection.deleteQueue(queue)
            connection.close()
        }
        try connection.declareQueue(queue, durable: true)
        try connection.confirmSelect()
        var tracker = ConfirmTracker<String>()
        for i in 1...200 {
            let id = "m-\(i)"
            try connection.publish(
                exchange: "", routingKey: queue, body: Array("body \(i)".utf8),
                properties: AMQPProperties(
                    contentType: "text/plain", priority: 3, correlationID: "c-\(i)", messageID: id,
                    timestamp: 1_700_000_000,
                    type: "test.message", headers: ["x-bullpen-attempt": .int32(2), "tenant": .string("client-9")]))
            tracker.published(messageID: id, token: id)
        }
        let outcomes = try awaitConfirms(connection, &tracker, count: 200)
        #expect(outcomes.count == 200)
        #expect(outcomes.values.allSatisfy { $0 == .acked })
        #expect(try connection.declareQueue(queue, passive: true).messageCount == 200)

        let first = try #require(try connection.get(queue: queue))
        #expect(first.body == Array("body 1".utf8))
        #expect(first.properties.messageID == "m-1")
        #expect(first.properties.correlationID == "c-1")
        #expect(first.properties.type == "test.message")
        #expect(first.properties.priority == 3)
        #expect(first.properties.persistent)
        #expect(first.properties.timestamp == 1_700_000_000)
        #expect(first.properties.headers["x-bullpen-attempt"] == .int32(2))
        #expect(first.properties.headers["tenant"] == .string("client-9"))
        try connection.ack(deliveryTag: first.deliveryTag, channel: 1)
    }

    @Test("an unroutable mandatory message comes back, then is acked")
    func returned() throws {
        let connection = try connect()
        defer { connection.close() }
        try connection.confirmSelect()
        var tracker = ConfirmTracker<String>()
        try connection.publish(
            exchange: "", routingKey: "no-such-queue-\(queue)", body: [1],
            properties: AMQPProperties(messageID: "lost"),
            mandatory: true)
        tracker.published(messageID: "lost", token: "lost")
        let outcomes = try awaitConfirms(connection, &tracker, count: 1)
        #expect(outcomes["lost"] == .returned(replyCode: 312, replyText: "NO_ROUTE"))
    }

    @Test("with a backlog, higher priorities are delivered first")
    func priorities() throws {
        let connection = try connect()
        defer {
            _ = try? connection.deleteQueue(queue)
            connection.close()
        }
        try connection.declareQueue(queue, arguments: ["x-max-priority": .int32(5)])
        try connection.confirmSelect()
        var tracker = ConfirmTracker<String>()
        let priorities: [UInt8] = [1, 3, 5, 2, 5, 1, 4, 3]
        for (i, p) in priorities.enumerated() {
            try connection.publish(
                exchange: "", routingKey: queue, body: [p], properties: AMQPProperties(priority: p, messageID: "p\(i)"))
            tracker.published(messageID: "p\(i)", token: "p\(i)")
        }
        _ = try awaitConfirms(connection, &tracker, count: priorities.count)
        try connection.setPrefetch(1)
        try connection.consume(queue: queue)
        var seen: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.count < priorities.count, ContinuousClock.now < deadline {
            if case .delivery(let delivery) = try connection.nextEvent(timeout: .milliseconds(200)) {
                seen.append(delivery.properties.priority ?? 0)
                try connection.ack(deliveryTag: delivery.deliveryTag, channel: 1)
            }
        }
        #expect(seen == priorities.sorted(by: >))
    }

    @Test("a rejected message goes to the dead-letter queue with x-death")
    func rejectToDeadLetters() throws {
        let connection = try connect()
        let dead = queue + ".dead"
        defer {
            _ = try? connection.deleteQueue(queue)
            _ = try? connection.deleteQueue(dead)
            _ = try? connection.deleteExchange(queue + ".dlx")
            connection.close()
        }
        try connection.declareExchange(queue + ".dlx", type: "direct")
        try connection.declareQueue(dead)
        try connection.bindQueue(dead, exchange: queue + ".dlx", routingKey: "k")
        try connection.declareQueue(
            queue,
            arguments: [
                "x-dead-letter-exchange": .string(queue + ".dlx"), "x-dead-letter-routing-key": .string("k"),
            ])
        try connection.publish(
            exchange: "", routingKey: queue, body: Array("poison".utf8),
            properties: AMQPProperties(messageID: "poison-1"))
        let delivery = try #require(try eventuallyGet(connection, queue))
        try connection.reject(deliveryTag: delivery.deliveryTag, requeue: false, channel: 1)

        let parked = try #require(try eventuallyGet(connection, dead))
        #expect(parked.body == Array("poison".utf8))
        #expect(parked.properties.messageID == "poison-1")
        guard case .array(let deaths) = parked.properties.headers["x-death"], case .table(let death) = deaths.first
        else {
            Issue.record("no x-death header: \(parked.properties.headers)")
            return
        }
        #expect(death["reason"] == .string("rejected"))
        #expect(death["queue"] == .string(queue))
        #expect(try connection.declareQueue(queue, passive: true).messageCount == 0)
    }

    @Test("a channel the broker closes is answered with close-ok and can be reopened")
    func serverClosedChannel() throws {
        let connection = try connect()
        defer { connection.close() }
        do {
            try connection.declareQueue("missing-\(queue)", passive: true)
            Issue.record("passive declare of a missing queue succeeded")
        } catch let error as AMQPError {
            #expect(error.kind == .channelClosed)
            #expect(error.replyCode == 404)
        }
        #expect(!connection.openChannels.contains(1))
        #expect(connection.isOpen)
        // Without the close-ok, reopening channel 1 kills the whole connection (504 CHANNEL_ERROR).
        try connection.openChannel(1)
        try connection.declareQueue(queue, exclusive: true, autoDelete: true)
        #expect(connection.isOpen)
        // A channel the client closes is gone too, and its number is free again.
        try connection.openChannel(2)
        try connection.closeChannel(2)
        #expect(connection.openChannels == [1])
        try connection.openChannel(2)
        #expect(connection.openChannels == [1, 2])
    }

    @Test("a lost connection is reported with the broker's reason, and reconnecting restores it")
    func reconnect() throws {
        let connection = try connect()
        defer { connection.close() }
        let port = try #require(connection.localPort)
        try TestEnvironment.closeBrokerConnection(clientPort: port)
        var lost: AMQPError?
        let noticed = eventually(timeout: .seconds(10)) {
            do {
                _ = try connection.nextEvent(timeout: .milliseconds(100))
                return false
            } catch let error as AMQPError {
                lost = error
                return error.kind == .connectionLost
            } catch {
                return false
            }
        }
        #expect(noticed)
        // The broker's text, whole: it lives in the connection's frame memory, freed when the connection is abandoned.
        #expect(lost?.message.hasSuffix("broker closed the connection: CONNECTION_FORCED - closed by test") == true)
        #expect(lost?.replyCode == 320)
        #expect(!connection.isOpen)
        try connection.reconnect()
        try connection.openChannel(1)
        try connection.declareQueue(queue, exclusive: true, autoDelete: true)
        #expect(connection.isOpen)
    }

    @Test("a broker that is not there fails the connect within the timeout")
    func unreachable() throws {
        var config = try TestEnvironment.amqp()
        config.port = 1  // nothing listens there
        config.connectTimeout = .seconds(2)
        let started = ContinuousClock.now
        #expect(throws: AMQPError.self) { try AMQPConnection(config) }
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    func eventuallyGet(_ connection: AMQPConnection, _ queue: String) throws -> AMQPDelivery? {
        var found: AMQPDelivery?
        _ = try eventually(timeout: .seconds(5)) {
            found = try connection.get(queue: queue)
            return found != nil
        }
        return found
    }
}

import CAMQP

/// The broker's answer to a queue declaration.
public struct AMQPQueueInfo: Sendable, Equatable {
    public let name: String
    /// Messages ready in the queue (not counting unacknowledged ones).
    public let messageCount: Int
    public let consumerCount: Int
}

extension AMQPConnection {
    /// Opens a channel; numbers start at 1.
    public func openChannel(_ channel: UInt16) throws {
        _ = try rpc("channel.open", channel: channel) { amqp_channel_open($0, channel) }
        openChannels.insert(channel)
    }

    /// Closes a channel politely.
    public func closeChannel(_ channel: UInt16) throws {
        let state = try liveState()
        guard openChannels.contains(channel) else { return }
        let reply = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
        openChannels.remove(channel)
        if reply.reply_type != AMQP_RESPONSE_NORMAL { try check("channel.close", channel: channel) }
    }

    /// Declares an exchange. Declaring it again with the same settings is harmless.
    public func declareExchange(
        _ name: String, type: String = "direct", durable: Bool = true, autoDelete: Bool = false,
        arguments: AMQPTable = [:], channel: UInt16 = 1
    ) throws {
        let arena = CArena()
        _ = try rpc("exchange.declare \(name)", channel: channel) {
            amqp_exchange_declare(
                $0, channel, arena.bytes(name), arena.bytes(type), 0, durable ? 1 : 0, autoDelete ? 1 : 0, 0,
                arena.table(arguments))
        }
    }

    /// Deletes an exchange.
    public func deleteExchange(_ name: String, channel: UInt16 = 1) throws {
        let arena = CArena()
        _ = try rpc("exchange.delete \(name)", channel: channel) {
            amqp_exchange_delete($0, channel, arena.bytes(name), 0)
        }
    }

    /// Declares a queue, or with `passive` only asks for its depth (a 404 closes the channel when it is missing).
    @discardableResult
    public func declareQueue(
        _ name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
        arguments: AMQPTable = [:], passive: Bool = false, channel: UInt16 = 1
    ) throws -> AMQPQueueInfo {
        let arena = CArena()
        let ok = try rpc("queue.declare \(name)", channel: channel) {
            amqp_queue_declare(
                $0, channel, arena.bytes(name), passive ? 1 : 0, durable ? 1 : 0, exclusive ? 1 : 0,
                autoDelete ? 1 : 0, arena.table(arguments))
        }
        guard let ok else { throw AMQPError(.library, "queue.declare \(name): empty reply", channel: channel) }
        return AMQPQueueInfo(
            name: CDecode.string(ok.pointee.queue), messageCount: Int(ok.pointee.message_count),
            consumerCount: Int(ok.pointee.consumer_count))
    }

    /// Binds a queue to an exchange with a routing key.
    public func bindQueue(
        _ queue: String, exchange: String, routingKey: String, arguments: AMQPTable = [:], channel: UInt16 = 1
    ) throws {
        let arena = CArena()
        _ = try rpc("queue.bind \(queue)", channel: channel) {
            amqp_queue_bind(
                $0, channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey),
                arena.table(arguments))
        }
    }

    /// Deletes a queue and returns how many messages it held.
    @discardableResult
    public func deleteQueue(_ name: String, channel: UInt16 = 1) throws -> Int {
        let arena = CArena()
        let ok = try rpc("queue.delete \(name)", channel: channel) {
            amqp_queue_delete($0, channel, arena.bytes(name), 0, 0)
        }
        return Int(ok?.pointee.message_count ?? 0)
    }

    /// Removes every ready message from a queue and returns how many there were.
    @discardableResult
    public func purgeQueue(_ name: String, channel: UInt16 = 1) throws -> Int {
        let arena = CArena()
        let ok = try rpc("queue.purge \(name)", channel: channel) {
            amqp_queue_purge($0, channel, arena.bytes(name))
        }
        return Int(ok?.pointee.message_count ?? 0)
    }

    /// Limits unacknowledged deliveries on the channel; keep it small on priority queues.
    public func setPrefetch(_ count: UInt16, channel: UInt16 = 1) throws {
        _ = try rpc("basic.qos", channel: channel) { amqp_basic_qos($0, channel, 0, count, 0) }
    }

    /// Puts the channel in publisher-confirm mode; delivery tags then count from 1.
    public func confirmSelect(channel: UInt16 = 1) throws {
        _ = try rpc("confirm.select", channel: channel) { amqp_confirm_select($0, channel) }
        confirmChannels.insert(channel)
    }

    /// Puts the channel in confirm mode unless this connection already did.
    public func confirmSelectIfNeeded(channel: UInt16 = 1) throws {
        guard !confirmChannels.contains(channel) else { return }
        try confirmSelect(channel: channel)
    }

    /// Starts a consumer with manual acknowledgement; returns its consumer tag.
    @discardableResult
    public func consume(
        queue: String, consumerTag: String = "", arguments: AMQPTable = [:], channel: UInt16 = 1
    ) throws -> String {
        let arena = CArena()
        let ok = try rpc("basic.consume \(queue)", channel: channel) {
            amqp_basic_consume(
                $0, channel, arena.bytes(queue), arena.bytes(consumerTag), 0, 0, 0, arena.table(arguments))
        }
        return ok.map { CDecode.string($0.pointee.consumer_tag) } ?? consumerTag
    }

    /// Stops a consumer. Deliveries already sent still arrive and must be acked or rejected.
    public func cancel(consumerTag: String, channel: UInt16 = 1) throws {
        let arena = CArena()
        _ = try rpc("basic.cancel", channel: channel) { amqp_basic_cancel($0, channel, arena.bytes(consumerTag)) }
    }

    /// Publishes a message. The return only means the bytes left; with confirms on, wait for the
    /// ack event for this channel's next delivery tag.
    public func publish(
        exchange: String, routingKey: String, body: [UInt8], properties: AMQPProperties = AMQPProperties(),
        mandatory: Bool = false, channel: UInt16 = 1
    ) throws {
        let state = try liveState()
        let arena = CArena()
        var props = arena.properties(properties)
        let status = body.withUnsafeBytes { raw -> Int32 in
            let bytes = amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return amqp_basic_publish(
                state, channel, arena.bytes(exchange), arena.bytes(routingKey), mandatory ? 1 : 0, 0, &props, bytes)
        }
        try checkStatus(status, "basic.publish", channel: channel)
    }

    /// Acknowledges a delivery (and, with `multiple`, every earlier one on the channel).
    public func ack(deliveryTag: UInt64, multiple: Bool = false, channel: UInt16) throws {
        let state = try liveState()
        try checkStatus(amqp_basic_ack(state, channel, deliveryTag, multiple ? 1 : 0), "basic.ack", channel: channel)
    }

    /// Negatively acknowledges a delivery; without requeue it goes to the queue's dead-letter exchange.
    public func nack(deliveryTag: UInt64, multiple: Bool = false, requeue: Bool, channel: UInt16) throws {
        let state = try liveState()
        try checkStatus(
            amqp_basic_nack(state, channel, deliveryTag, multiple ? 1 : 0, requeue ? 1 : 0), "basic.nack",
            channel: channel)
    }

    /// Rejects one delivery; without requeue it goes to the queue's dead-letter exchange.
    public func reject(deliveryTag: UInt64, requeue: Bool, channel: UInt16) throws {
        let state = try liveState()
        try checkStatus(
            amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0), "basic.reject", channel: channel)
    }

    /// Fetches one message with basic.get (manual ack), or nil when the queue is empty.
    public func get(queue: String, channel: UInt16 = 1) throws -> AMQPDelivery? {
        let state = try liveState()
        let arena = CArena()
        lastCallChannel = channel
        let reply = amqp_basic_get(state, channel, arena.bytes(queue), 0)
        if reply.reply_type != AMQP_RESPONSE_NORMAL { try check("basic.get \(queue)", channel: channel) }
        guard reply.reply.id == basicGetOkMethodID, let decoded = reply.reply.decoded else { return nil }
        let ok = decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        let tag = ok.delivery_tag
        let redelivered = ok.redelivered != 0
        let exchange = CDecode.string(ok.exchange)
        let routingKey = CDecode.string(ok.routing_key)
        let (properties, body) = try readContent(channel: channel)
        return AMQPDelivery(
            channel: channel, consumerTag: "", deliveryTag: tag, redelivered: redelivered, exchange: exchange,
            routingKey: routingKey, properties: properties, body: body)
    }

    func checkStatus(_ status: Int32, _ operation: String, channel: UInt16) throws {
        guard status != AMQPStatus.ok else { return }
        abandon()
        throw AMQPError(.connectionLost, "\(operation): \(AMQPStatus.text(status))", channel: channel)
    }

    /// Reads the header and body frames that follow basic.deliver, basic.return or basic.get-ok.
    func readContent(channel: UInt16) throws -> (AMQPProperties, [UInt8]) {
        let state = try liveState()
        var message = amqp_message_t()
        let reply = amqp_read_message(state, channel, &message, 0)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            abandon()
            throw AMQPError(.connectionLost, "reading message content: \(AMQPStatus.text(reply.library_error))")
        }
        defer { amqp_destroy_message(&message) }
        return (CDecode.properties(message.properties), CDecode.bytes(message.body))
    }
}

let basicGetOkMethodID: amqp_method_number_t = 0x003C_0047

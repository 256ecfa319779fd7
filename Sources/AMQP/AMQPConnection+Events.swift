import CAMQP

extension AMQPConnection {
    /// Waits up to `timeout` for the next frame that is not the reply to a synchronous call, and returns it
    /// as an event; nil when the time passed or `wakeup` was signalled first. Serves heartbeats either way.
    ///
    /// Throws `.connectionLost` when the socket fails, a heartbeat is missed or the broker closes the connection.
    public func nextEvent(timeout: Duration, wakeup: Wakeup? = nil) throws -> AMQPEvent? {
        let state = try liveState()
        if amqp_frames_enqueued(state) == 0 && amqp_data_in_buffer(state) == 0 {
            var socketReady: Int32 = 0
            var wakeReady: Int32 = 0
            _ = bp_poll_two(
                amqp_get_sockfd(state), wakeup?.descriptor ?? -1, Int32(timeout.milliseconds),
                &socketReady, &wakeReady)
            if wakeReady != 0 { wakeup?.drain() }
            if socketReady == 0 {
                // Nothing to read: a zero-timeout read still sends a heartbeat when one is due.
                return try readEvent(state, timeoutMilliseconds: 0)
            }
        }
        return try readEvent(state, timeoutMilliseconds: 0)
    }

    private func readEvent(_ state: amqp_connection_state_t, timeoutMilliseconds: Int) throws -> AMQPEvent? {
        var frame = amqp_frame_t()
        var tv = bp_timeval_ms(timeoutMilliseconds)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &tv)
        if status == AMQPStatus.timeout { return nil }
        guard status == AMQPStatus.ok else {
            abandon()
            throw AMQPError(.connectionLost, "waiting for a frame: \(AMQPStatus.text(status))")
        }
        defer {
            if let state = self.stateIfOpen, amqp_frames_enqueued(state) == 0 { amqp_maybe_release_buffers(state) }
        }
        guard Int32(frame.frame_type) == BP_AMQP_FRAME_METHOD else { return nil }
        let channel = frame.channel
        let method = frame.payload.method
        guard let decoded = method.decoded else { return nil }
        switch method.id {
        case BP_AMQP_BASIC_DELIVER_METHOD:
            let deliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let consumerTag = CDecode.string(deliver.consumer_tag)
            let exchange = CDecode.string(deliver.exchange)
            let routingKey = CDecode.string(deliver.routing_key)
            let (properties, body) = try readContent(channel: channel)
            return .delivery(
                AMQPDelivery(
                    channel: channel, consumerTag: consumerTag, deliveryTag: deliver.delivery_tag,
                    redelivered: deliver.redelivered != 0, exchange: exchange, routingKey: routingKey,
                    properties: properties, body: body))
        case BP_AMQP_BASIC_ACK_METHOD:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .publisherAck(channel: channel, deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0)
        case BP_AMQP_BASIC_NACK_METHOD:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .publisherNack(channel: channel, deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0)
        case BP_AMQP_BASIC_RETURN_METHOD:
            let ret = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let code = ret.reply_code
            let text = CDecode.string(ret.reply_text)
            let exchange = CDecode.string(ret.exchange)
            let routingKey = CDecode.string(ret.routing_key)
            let (properties, body) = try readContent(channel: channel)
            return .returned(
                AMQPReturnedMessage(
                    channel: channel, replyCode: code, replyText: text, exchange: exchange, routingKey: routingKey,
                    properties: properties, body: body))
        case BP_AMQP_BASIC_CANCEL_METHOD:
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .consumerCancelled(channel: channel, consumerTag: CDecode.string(cancel.consumer_tag))
        case BP_AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let text = CDecode.string(close.reply_text)
            _ = channelClosedByServer(channel: channel, code: close.reply_code, text: text, operation: "event")
            return .channelClosed(channel: channel, replyCode: close.reply_code, replyText: text)
        case BP_AMQP_CONNECTION_CLOSE_METHOD:
            throw serverException(method, operation: "waiting for a frame")
        default:
            return nil
        }
    }

    var stateIfOpen: amqp_connection_state_t? { try? liveState() }
}

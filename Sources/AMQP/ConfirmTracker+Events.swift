extension ConfirmTracker {
    /// Applies whatever a broker frame says about publishes on `channel`: an ack or nack settles publishes
    /// (returned in tag order, with their outcome), a basic.return marks one as returned; any other frame, or
    /// a frame for another channel, changes nothing.
    public mutating func apply(_ event: AMQPEvent, channel: UInt16? = nil) -> [(Token, Outcome)] {
        switch event {
        case .publisherAck(let on, let tag, let multiple) where channel == nil || on == channel:
            return ack(deliveryTag: tag, multiple: multiple)
        case .publisherNack(let on, let tag, let multiple) where channel == nil || on == channel:
            return nack(deliveryTag: tag, multiple: multiple)
        case .returned(let message) where channel == nil || message.channel == channel:
            returned(
                messageID: message.properties.messageID, replyCode: message.replyCode, replyText: message.replyText)
            return []
        default:
            return []
        }
    }
}

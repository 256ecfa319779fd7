import AMQP

/// The decisions of one consumer's I/O loop: which deliveries go to the handler thread, which frames settle
/// what the handler decided, when a retry or dead-letter copy lets its original go, and how a graceful stop
/// ends. Events in, actions out; it does no I/O, so every rule is tested without a broker.
///
/// Each connection gets a fresh machine: deliveries of a lost connection are redelivered by the broker.
struct ConsumerStateMachine {
    /// Where a copy of a delivery goes before the original is acked.
    enum CopyTarget: Equatable {
        /// The queue's delay tier `tier`, to come back as attempt `nextAttempt`.
        case retry(tier: Int, nextAttempt: Int, reason: String)
        /// The queue's dead-letter queue, parked with the reason.
        case deadLetter(reason: String)
    }

    /// What the I/O loop does.
    enum Action: Equatable {
        /// Give the delivery to the handler thread.
        case handOff(deliveryTag: UInt64)
        /// Send these ack frames; `applied` and `duplicates` count the handler's acks among them.
        case ack([AckLedger.Ack], applied: Int, duplicates: Int)
        /// Publish a copy of the delivery (with a confirm), then report it with ``copyPublished(deliveryTag:messageID:)``.
        case publishCopy(deliveryTag: UInt64, to: CopyTarget)
        /// The copy was unroutable: reject the original without requeue, so the work queue's own dead-letter
        /// exchange takes it.
        case reject(deliveryTag: UInt64)
        /// The copy was nacked or its confirm was lost: requeue the original.
        case requeue(deliveryTag: UInt64)
        /// Stop taking new deliveries.
        case cancelConsumer
        /// The graceful stop is over; `abandoned` deliveries were not finished and will be redelivered.
        case finish(abandoned: Int)
    }

    let shutdownDeadline: Duration
    /// Delivered and not yet settled (acked, copied, or given up for redelivery).
    private(set) var inFlight = 0
    private var acks = AckLedger()
    private var copies = ConfirmTracker<UInt64>()
    private var cancelledAt: ContinuousClock.Instant?

    init(shutdownDeadline: Duration) {
        self.shutdownDeadline = shutdownDeadline
    }

    var isStopping: Bool { cancelledAt != nil }

    /// A delivery arrived. After the consumer was cancelled it is left unacked and requeued at close.
    mutating func delivered(deliveryTag: UInt64) -> [Action] {
        guard cancelledAt == nil else { return [] }
        inFlight += 1
        acks.delivered(deliveryTag)
        return [.handOff(deliveryTag: deliveryTag)]
    }

    /// The handler thread's decisions for a run of deliveries (one batch or several).
    mutating func completed(_ decisions: [(deliveryTag: UInt64, decision: DeliveryApplier.Decision)]) -> [Action] {
        var actions: [Action] = []
        var toAck: [UInt64] = []
        var duplicates = 0
        for (tag, decision) in decisions {
            switch decision {
            case .ack(let result):
                toAck.append(tag)
                if result == .duplicate { duplicates += 1 }
            case .retry(let tier, let nextAttempt, let reason):
                actions.append(
                    .publishCopy(deliveryTag: tag, to: .retry(tier: tier, nextAttempt: nextAttempt, reason: reason)))
            case .park(let reason):
                actions.append(.publishCopy(deliveryTag: tag, to: .deadLetter(reason: reason)))
            case .abandon:
                // Stays unsettled in the ledger: no later `multiple` ack may cover it, so it is redelivered.
                inFlight -= 1
            }
        }
        if !toAck.isEmpty {
            // One frame for a run of consecutive acks (the common case with batches).
            actions.append(.ack(acks.ack(toAck), applied: toAck.count, duplicates: duplicates))
            inFlight -= toAck.count
        }
        return actions
    }

    /// A copy went out on the publishing channel (in publish order).
    mutating func copyPublished(deliveryTag: UInt64, messageID: String?) {
        _ = copies.published(messageID: messageID, token: deliveryTag)
    }

    /// The broker's answer for copies: settles their originals.
    mutating func copiesAcked(deliveryTag: UInt64, multiple: Bool) -> [Action] {
        copies.ack(deliveryTag: deliveryTag, multiple: multiple).flatMap { settleOriginal($0.0, $0.1) }
    }

    mutating func copiesNacked(deliveryTag: UInt64, multiple: Bool) -> [Action] {
        copies.nack(deliveryTag: deliveryTag, multiple: multiple).flatMap { settleOriginal($0.0, $0.1) }
    }

    mutating func copyReturned(messageID: String?, replyCode: UInt16, replyText: String) {
        copies.returned(messageID: messageID, replyCode: replyCode, replyText: replyText)
    }

    /// Time passes: starts a requested stop, and ends it once nothing is in flight, the deadline has
    /// passed, or a hard stop was asked for.
    mutating func tick(now: ContinuousClock.Instant, stopRequested: Bool, hardStop: Bool) -> [Action] {
        var actions: [Action] = []
        if stopRequested && cancelledAt == nil {
            cancelledAt = now
            actions.append(.cancelConsumer)
        }
        if let cancelledAt, inFlight == 0 || hardStop || now - cancelledAt > shutdownDeadline {
            actions.append(.finish(abandoned: inFlight))
        }
        return actions
    }

    private mutating func settleOriginal(_ deliveryTag: UInt64, _ outcome: ConfirmTracker<UInt64>.Outcome) -> [Action] {
        inFlight -= 1
        switch outcome {
        case .acked:
            return [.ack(acks.ack([deliveryTag]), applied: 0, duplicates: 0)]
        case .returned:
            acks.forget(deliveryTag)
            return [.reject(deliveryTag: deliveryTag)]
        case .nacked, .failed:
            acks.forget(deliveryTag)
            return [.requeue(deliveryTag: deliveryTag)]
        }
    }
}

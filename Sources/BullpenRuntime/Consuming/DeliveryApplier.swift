import AMQP
import BullpenStore
import Foundation
import Logging
import PostgreSQL

/// Applies deliveries to PostgreSQL, one transaction each: inbox row, then the handler's effect.
/// Runs on a consumer's handler thread and owns that thread's database connection.
public final class DeliveryApplier {
    /// What to tell the broker about a delivery.
    public enum Decision: Sendable, Equatable {
        /// The effect committed (or had committed before): ack.
        case ack(HandlerResult)
        /// The message can never succeed and is recorded in dead_letters: reject it without requeue,
        /// so the queue's dead-letter exchange parks it.
        case park(reason: String)
        /// Stopping before the effect could commit: leave it unacked; the broker redelivers it.
        case abandon
    }

    private let db: PGConnection
    private let handlers: [String: any MessageHandler]
    private let queue: String
    private let logger: Logger

    public init(db: PGConnection, handlers: [any MessageHandler], queue: String, logger: Logger) {
        self.db = db
        self.handlers = Dictionary(handlers.map { ($0.messageType, $0) }, uniquingKeysWith: { first, _ in first })
        self.queue = queue
        self.logger = logger
    }

    /// Applies one delivery. Database connection failures are retried here (the session is reset between
    /// tries) until `shouldStop` says to give up, so a PostgreSQL restart costs time, not messages.
    public func apply(_ delivery: AMQPDelivery, shouldStop: () -> Bool) -> Decision {
        let message = InboundMessage(delivery: delivery, queue: queue)
        var logger = self.logger
        logger[metadataKey: "message.id"] = "\(message.messageID)"
        logger[metadataKey: "message.queue"] = "\(queue)"
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while true {
            do {
                let result = try applyOnce(message)
                return .ack(result)
            } catch let error as HandlerError {
                guard case .park(let reason) = error else { continue }
                return park(message, reason: reason, logger: logger, shouldStop: shouldStop)
            } catch let error as PGError where error.isConnectionFailure || error.isRetryableTransaction {
                logger.warning("database unavailable; retrying the message", metadata: ["error": "\(error)"])
                if shouldStop() { return .abandon }
                Thread.sleep(forTimeInterval: Double(backoff.next().milliseconds) / 1000)
            } catch {
                // A constraint the message breaks, a bug in its content: it will not get better by retrying.
                return park(message, reason: "\(error)", logger: logger, shouldStop: shouldStop)
            }
        }
    }

    private func applyOnce(_ message: InboundMessage) throws -> HandlerResult {
        guard !message.messageID.isEmpty else { throw HandlerError.park(reason: "the message has no message id") }
        guard let type = message.type, let handler = handlers[type] else {
            throw HandlerError.park(reason: "no handler for message type '\(message.type ?? "")' on queue \(queue)")
        }
        return try db.transaction { tx in
            guard try MessageLedger.recordApplied(messageID: message.messageID, queue: queue, type: type, in: tx) else {
                return .duplicate
            }
            return try handler.handle(message, in: tx)
        }
    }

    private func park(_ message: InboundMessage, reason: String, logger: Logger, shouldStop: () -> Bool) -> Decision {
        logger.warning("parking message", metadata: ["reason": "\(reason)"])
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while true {
            do {
                try MessageLedger.recordParked(
                    queue: queue, messageID: message.messageID.isEmpty ? nil : message.messageID, type: message.type,
                    reason: reason, attempts: message.attempt, headersJSON: message.headers.jsonString,
                    body: message.body, on: db)
                return .park(reason: reason)
            } catch {
                if shouldStop() { return .abandon }
                Thread.sleep(forTimeInterval: Double(backoff.next().milliseconds) / 1000)
            }
        }
    }
}

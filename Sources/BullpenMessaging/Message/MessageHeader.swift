/// The AMQP headers Bullpen writes and reads: the one place their names are written.
public enum MessageHeader {
    /// Which delivery attempt this is; set on every retry copy, absent on a first delivery (attempt 1).
    public static let attempt = "x-bullpen-attempt"
    /// Why a message was parked in a dead-letter queue.
    public static let reason = "x-bullpen-reason"
    /// The work queue a parked message came from.
    public static let parkedFrom = "x-bullpen-parked-from"
    /// The error of the attempt that sent a message to a retry tier.
    public static let lastError = "x-bullpen-last-error"
    /// When an operator sent a parked message back to its work queue (seconds since the epoch).
    public static let replayedAt = "x-bullpen-replayed-at"

    /// RabbitMQ's own marks on a dead-lettered message.
    public static let brokerDeathMarks = [
        "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
    ]

    /// What a replay strips: the marks of the message's earlier life, the broker's and Bullpen's.
    static let earlierLife = brokerDeathMarks + [reason, parkedFrom, lastError]

    /// Longest reason or error text carried in a header.
    static let maxTextLength = 1000
}

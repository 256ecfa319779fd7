import BullpenDomain
import PostgreSQL

/// Applies one type of message to PostgreSQL. The message type says which queue the handler consumes.
///
/// The runtime opens the transaction, records the message id in the inbox, decodes the body (parking a
/// body that does not decode or has another schema version) and then calls the handler with that
/// transaction; the effect, the inbox row and any outbox rows commit together, and only then is the
/// delivery acked. A handler tells the runtime what else to do by what it returns or throws:
/// - return `.applied`: done;
/// - return `.duplicate`: the effect was already there (for example, found by a natural key); the inbox row
///   still commits;
/// - throw ``HandlerError/retryLater(reason:)``: a transient failure (an outside service is down); the message
///   goes to the queue's next delay tier and comes back, until its attempts run out and it is parked;
/// - throw ``HandlerError/park(reason:)``: the message can never succeed; it is parked with the reason.
/// Database connection failures are retried in place. Any other error is treated as permanent and parks the
/// message: it will not get better by retrying, and an operator can replay it after a fix.
public protocol MessageHandler: Sendable {
    associatedtype Message: BullpenMessage
    func handle(_ message: Message, _ inbound: InboundMessage, in transaction: PGConnection) throws -> HandlerResult

    /// Called when a message of this type is parked (after its handling was rolled back), in the transaction
    /// that records it in dead_letters: the place to record what parking means for the domain (a task whose
    /// run could not be started is marked so). The default does nothing. Not called for a body that does not
    /// decode.
    func parked(_ message: Message, reason: String, in transaction: PGConnection) throws

    /// Called when a message of this type goes to a retry tier (after its handling was rolled back), in the
    /// transaction that commits before the copy is published: the place to record why it waits and until
    /// when (a task's "why is this task waiting?"). The default does nothing. A delivery whose copy could not
    /// be published comes back and is recorded again; the newest record is the one that holds.
    func retrying(_ message: Message, _ retry: RetryNote, in transaction: PGConnection) throws
}

extension MessageHandler {
    public func parked(_ message: Message, reason: String, in transaction: PGConnection) throws {}
    public func retrying(_ message: Message, _ retry: RetryNote, in transaction: PGConnection) throws {}
}

/// A message on its way to a retry tier: which tier and how long it waits there, the delivery it comes back
/// as and the last one before it is parked, and why it failed.
public struct RetryNote: Sendable, Equatable {
    public var tier: Int
    public var delaySeconds: Int
    public var nextAttempt: Int
    public var maxAttempts: Int
    public var reason: String

    public init(tier: Int, delaySeconds: Int, nextAttempt: Int, maxAttempts: Int, reason: String) {
        self.tier = tier
        self.delaySeconds = delaySeconds
        self.nextAttempt = nextAttempt
        self.maxAttempts = maxAttempts
        self.reason = reason
    }
}

/// A handler whose messages' handling must hold something alone (a Stripe customer, say): the runtime takes a
/// transaction-scoped advisory lock on every key of a batch, in one sorted order, before any of the batch's
/// work, so two consumers whose batches share keys wait for each other instead of deadlocking, and one key's
/// messages are applied one transaction at a time. (Only these handlers' messages are decoded for it.)
public protocol SerializedMessageHandler: MessageHandler {
    func lockKeys(_ message: Message) -> [String]
}

/// A handler whose handling calls outside Bullpen (a provider, the gateway): a call that a rollback does not undo
/// and that may take seconds. The runtime handles its messages in three steps, so that no transaction is open
/// while the other side answers, and one message's failure never makes another message call out again:
/// 1. ``prepare(_:_:in:)``, in a first short transaction that commits (the batch's other messages beside it,
///    each in a savepoint): reads what the call needs and may record the intent; or answers the message
///    without a call (``Preparation/done(_:)``: a duplicate, nothing to send), its inbox row then committing
///    with that transaction;
/// 2. ``call(_:)``, with no transaction open: the batch's calls of this handler, made at once if it likes;
/// 3. ``settle(_:_:_:_:in:)``, in a second transaction with the message's inbox row: records the answer.
/// A verdict thrown in any step (park, retry) decides the message's fate as for any handler, and a call is
/// made once per delivery. A worker that dies between its call and the settle leaves the delivery unacked;
/// the redelivery is prepared again with `inbound.redelivered` set, so the call must be safe to repeat (an
/// idempotency key), or the handler asks the other side first whether it was made.
public protocol OutsideCallingHandler: MessageHandler {
    associatedtype Call: Sendable
    associatedtype Answer: Sendable
    func prepare(
        _ message: Message, _ inbound: InboundMessage, in transaction: PGConnection
    ) throws
        -> Preparation<Call>
    /// One answer per call, in order; a failure is the verdict for its message.
    func call(_ calls: [Call]) -> [Result<Answer, HandlerError>]
    func settle(
        _ message: Message, _ inbound: InboundMessage, _ call: Call, _ answer: Answer, in transaction: PGConnection
    )
        throws -> HandlerResult

    /// The first step for a batch of new messages at once (set-based reads). The runtime tries it first, in
    /// one transaction with no savepoints; if it throws, that transaction is rolled back and each message is
    /// prepared on its own. The default prepares them one by one.
    func prepareBatch(
        _ messages: [(message: Message, inbound: InboundMessage)], in transaction: PGConnection
    ) throws
        -> [Preparation<Call>]

    /// The second step for a batch whose calls all succeeded, likewise; the default settles them one by one.
    func settleBatch(
        _ settled: [(message: Message, inbound: InboundMessage, call: Call, answer: Answer)],
        in transaction: PGConnection
    ) throws -> [HandlerResult]
}

/// What the first step of an ``OutsideCallingHandler`` decided.
public enum Preparation<Call: Sendable>: Sendable {
    /// Make this call, then settle it.
    case call(Call)
    /// Nothing to call: the message is answered with this.
    case done(HandlerResult)
}

extension OutsideCallingHandler {
    /// The three steps in the caller's one transaction, for a caller with no runtime around it; the runtime
    /// itself never calls this.
    public func handle(
        _ message: Message, _ inbound: InboundMessage, in transaction: PGConnection
    ) throws
        -> HandlerResult
    {
        switch try prepare(message, inbound, in: transaction) {
        case .done(let result): return result
        case .call(let request): return try settle(message, inbound, request, try call(request), in: transaction)
        }
    }

    /// One call on its own.
    public func call(_ one: Call) throws -> Answer { try call([one])[0].get() }

    public func prepareBatch(
        _ messages: [(message: Message, inbound: InboundMessage)], in transaction: PGConnection
    ) throws -> [Preparation<Call>] {
        try messages.map { try prepare($0.message, $0.inbound, in: transaction) }
    }

    public func settleBatch(
        _ settled: [(message: Message, inbound: InboundMessage, call: Call, answer: Answer)],
        in transaction: PGConnection
    ) throws -> [HandlerResult] {
        try settled.map { try settle($0.message, $0.inbound, $0.call, $0.answer, in: transaction) }
    }
}

/// A handler that can also apply many messages of its type in one go (set-based SQL), for batched
/// consumers. The runtime calls it on the fast path with the batch's new messages; if it throws, the batch
/// is rolled back and applied again one message at a time with ``MessageHandler/handle(_:_:in:)``, so the
/// per-message rules (park, retry, duplicate) still decide each message's fate.
public protocol BatchMessageHandler: MessageHandler {
    func handleBatch(_ messages: [(message: Message, inbound: InboundMessage)], in transaction: PGConnection) throws
}

/// What a handler did.
public enum HandlerResult: Sendable, Equatable {
    case applied
    case duplicate
}

/// Errors with which a handler steers the runtime.
public enum HandlerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Permanent failure: park the message in the queue's dead-letter queue with this reason.
    case park(reason: String)
    /// Transient failure: try again after the queue's next delay.
    case retryLater(reason: String)
    /// Transient failure, and the other side said when to come back (a `Retry-After`): try again after the
    /// queue's next delay, or the first one at least that long.
    case retryAfter(reason: String, seconds: Int)

    public var description: String {
        switch self {
        case .park(let reason): return "park: \(reason)"
        case .retryLater(let reason): return "retry later: \(reason)"
        case .retryAfter(let reason, let seconds): return "retry in \(seconds) s or later: \(reason)"
        }
    }
}

import BullpenDomain
import PostgreSQL

/// The handlers of a worker process, found by their message types: a delivery's AMQP `type` is matched
/// against `Message.name`, and each handler serves the queue its message type names.
public struct HandlerRegistry: Sendable {
    private let byQueue: [WorkQueue: [String: ErasedHandler]]

    /// Two handlers for one message type are refused.
    public init(_ handlers: [any MessageHandler]) throws {
        var byQueue: [WorkQueue: [String: ErasedHandler]] = [:]
        for handler in handlers {
            let erased = ErasedHandler(handler)
            guard byQueue[erased.queue, default: [:]][erased.name] == nil else {
                throw TopologyError(description: "two handlers for message type \(erased.name)")
            }
            byQueue[erased.queue, default: [:]][erased.name] = erased
        }
        self.byQueue = byQueue
    }

    /// The queues some handler consumes.
    public var queues: [WorkQueue] { byQueue.keys.sorted() }

    /// The handlers of one queue, by message type name.
    func handlers(for queue: WorkQueue) -> [String: ErasedHandler] { byQueue[queue] ?? [:] }
}

/// A handler with its message type erased: what the runtime calls with a delivery.
struct ErasedHandler: Sendable {
    let name: String
    let queue: WorkQueue
    let handle: @Sendable (InboundMessage, PGConnection) throws -> HandlerResult
    let parked: @Sendable (InboundMessage, String, PGConnection) throws -> Void
    let retrying: @Sendable (InboundMessage, RetryNote, PGConnection) throws -> Void
    /// Set when the handler can apply a whole batch in one go.
    let handleBatch: (@Sendable ([InboundMessage], PGConnection) throws -> Void)?
    /// The keys the message's handling holds alone (``SerializedMessageHandler/lockKeys(_:)``), for handlers
    /// that have any; none for a body that does not decode.
    let lockKeys: (@Sendable (InboundMessage) -> [String])?
    /// Set when its handling calls outside Bullpen (``OutsideCallingHandler``): never on the batch fast path,
    /// and in three steps.
    let outside: OutsideSteps?
    var callsOutside: Bool { outside != nil }

    init<Handler: MessageHandler>(_ handler: Handler) {
        name = Handler.Message.name
        queue = Handler.Message.queue
        handle = { inbound, tx in try handler.handle(try Self.decode(Handler.Message.self, inbound), inbound, in: tx) }
        parked = { inbound, reason, tx in
            guard let message = try? Self.decode(Handler.Message.self, inbound) else { return }
            try handler.parked(message, reason: reason, in: tx)
        }
        retrying = { inbound, retry, tx in
            guard let message = try? Self.decode(Handler.Message.self, inbound) else { return }
            try handler.retrying(message, retry, in: tx)
        }
        handleBatch = (handler as? any BatchMessageHandler).map { Self.batch($0) }
        lockKeys = (handler as? any SerializedMessageHandler).map { Self.keys($0) }
        outside = (handler as? any OutsideCallingHandler).map { OutsideSteps($0) }
    }

    private static func keys<Handler: SerializedMessageHandler>(
        _ handler: Handler
    ) -> @Sendable (InboundMessage) -> [String] {
        { inbound in
            guard let message = try? decode(Handler.Message.self, inbound) else { return [] }
            return handler.lockKeys(message)
        }
    }

    private static func batch<Handler: BatchMessageHandler>(
        _ handler: Handler
    ) -> @Sendable ([InboundMessage], PGConnection) throws -> Void {
        { inbounds, tx in
            try handler.handleBatch(try inbounds.map { (try decode(Handler.Message.self, $0), $0) }, in: tx)
        }
    }

    /// The body as the handler's message type; a body that does not decode, or has another schema version,
    /// can never apply and is parked.
    static func decode<Message: BullpenMessage>(_ type: Message.Type, _ inbound: InboundMessage) throws -> Message {
        let message = try inbound.decode(Message.self)
        guard message.schema == Message.schemaVersion else {
            throw HandlerError.park(
                reason:
                    "\(Message.name) has schema version \(message.schema); this worker reads version \(Message.schemaVersion)"
            )
        }
        return message
    }
}

/// An ``OutsideCallingHandler``'s three steps with its types erased.
struct OutsideSteps: Sendable {
    let prepare: @Sendable (InboundMessage, PGConnection) throws -> Preparation<Erased>
    let call: @Sendable ([Erased]) -> [Result<Erased, HandlerError>]
    let settle: @Sendable (InboundMessage, Erased, Erased, PGConnection) throws -> HandlerResult
    let prepareBatch: @Sendable ([InboundMessage], PGConnection) throws -> [Preparation<Erased>]
    let settleBatch: @Sendable ([(InboundMessage, Erased, Erased)], PGConnection) throws -> [HandlerResult]

    /// A call or an answer of the handler's own type.
    struct Erased: @unchecked Sendable {
        let value: any Sendable
    }

    /// A preparation with its call erased.
    static func erase<Call: Sendable>(_ preparation: Preparation<Call>) -> Preparation<Erased> {
        switch preparation {
        case .done(let result): return .done(result)
        case .call(let call): return .call(Erased(value: call))
        }
    }

    init<Handler: OutsideCallingHandler>(_ handler: Handler) {
        prepare = { inbound, tx in
            OutsideSteps.erase(
                try handler.prepare(try ErasedHandler.decode(Handler.Message.self, inbound), inbound, in: tx))
        }
        call = { calls in
            handler.call(calls.map { $0.value as! Handler.Call }).map { $0.map { Erased(value: $0) } }
        }
        settle = { inbound, call, answer, tx in
            try handler.settle(
                try ErasedHandler.decode(Handler.Message.self, inbound), inbound, call.value as! Handler.Call,
                answer.value as! Handler.Answer, in: tx)
        }
        prepareBatch = { inbounds, tx in
            let messages = try inbounds.map { (try ErasedHandler.decode(Handler.Message.self, $0), $0) }
            return try handler.prepareBatch(messages, in: tx).map(OutsideSteps.erase)
        }
        settleBatch = { settled, tx in
            try handler.settleBatch(
                try settled.map { inbound, call, answer in
                    (
                        try ErasedHandler.decode(Handler.Message.self, inbound), inbound, call.value as! Handler.Call,
                        answer.value as! Handler.Answer
                    )
                }, in: tx)
        }
    }
}

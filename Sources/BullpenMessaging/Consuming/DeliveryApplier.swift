import AMQP
import Foundation
import Logging
import PostgreSQL

/// Applies deliveries to PostgreSQL: a batch of up to K deliveries in one transaction, each in a savepoint
/// of its own with its own inbox row, so one failing message never poisons the others.
/// Runs on a consumer's handler thread and owns that thread's database connection.
final class DeliveryApplier {
    /// What to tell the broker about a delivery, once the transaction has committed.
    enum Decision: Sendable, Equatable {
        /// The effect committed (or had committed before): ack.
        case ack(HandlerResult)
        /// Try again later: publish a copy to delay tier `tier` with attempt `nextAttempt`, then ack.
        case retry(tier: Int, nextAttempt: Int, reason: String)
        /// Never going to apply; recorded in dead_letters: publish to the dead-letter queue, then ack.
        case park(reason: String)
        /// Stopping before the effect could commit: leave it unacked; the broker redelivers it.
        case abandon
    }

    private let db: PGConnection
    private let handlers: [String: ErasedHandler]
    private let queue: String
    private let retryPolicy: RetryPolicy
    private let logger: Logger

    init(db: PGConnection, handlers: [String: ErasedHandler], queue: QueueSpec, logger: Logger) {
        self.db = db
        self.handlers = handlers
        self.queue = queue.name
        retryPolicy = RetryPolicy(queue)
        self.logger = logger
    }

    /// Applies a batch in one transaction and returns a decision per delivery, in order. Database
    /// connection failures are retried here (the session is reset between tries) until `shouldStop` says
    /// to give up, so a PostgreSQL restart costs time, not messages. A batch with a message whose handler
    /// calls outside goes in three steps (``applyCallingOut(_:shouldStop:)``).
    func applyBatch(_ deliveries: [AMQPDelivery], shouldStop: () -> Bool) -> [Decision] {
        var messages = deliveries.map { InboundMessage(delivery: $0, queue: queue) }
        if messages.contains(where: { handler(of: $0)?.outside != nil }) {
            return applyCallingOut(&messages, shouldStop: shouldStop)
        }
        var verdicts = [HandlerError?](repeating: nil, count: messages.count)
        // Fast path: the whole batch's inbox rows in one statement, no savepoints. Any failure rolls it all
        // back, and the batch runs again message by message in savepoints.
        do {
            if let decisions = try transaction(
                &messages, shouldStop: shouldStop,
                { tx, messages in
                    try applyOptimistically(messages, tx)
                })
            {
                return decisions
            }
            return Array(repeating: .abandon, count: messages.count)
        } catch let aborted as FastPathAborted {
            // A handler's own verdict (park, retry) stands: it is not asked again.
            if let index = aborted.index, let verdict = aborted.verdict { verdicts[index] = verdict }
            markReapplied(&messages)
        } catch {
            preconditionFailure("only a fast path throws past its transaction: \(error)")
        }
        let careful = try? transaction(&messages, shouldStop: shouldStop) { tx, messages in
            try messages.indices.map { index in
                try inSavepoint(messages[index], tx) {
                    if let verdict = verdicts[index] { throw verdict }
                    return try applyOne(messages[index], tx)
                }
            }
        }
        return (careful ?? nil) ?? Array(repeating: .abandon, count: messages.count)
    }

    /// A batch with messages whose handlers call outside (``OutsideCallingHandler``). The first transaction
    /// applies the batch's other messages and prepares these; their calls are made with no transaction open;
    /// the second transaction settles them with their inbox rows. A call is made once per delivery: a
    /// database failure retries a transaction, never a call.
    ///
    /// A message is held by its consumer from its first step to the end of its second (a session-level advisory
    /// lock on its id), so that two copies delivered at once (an outbox relay that published twice) never both
    /// call: the second is tried again later, and then finds the first's inbox row.
    private func applyCallingOut(_ messages: inout [InboundMessage], shouldStop: () -> Bool) -> [Decision] {
        defer { try? db.execute("SELECT pg_advisory_unlock_all()") }
        var calls = [OutsideSteps.Erased?](repeating: nil, count: messages.count)
        // Fast: a batch of new messages that all call out, prepared set-based in one transaction with no
        // savepoints. Anything unusual (a message held elsewhere, a handler's verdict) rolls it back, and the
        // batch is prepared message by message.
        var prepared: [Decision]?? = .none
        if messages.allSatisfy({ !$0.messageID.isEmpty && handler(of: $0) != nil }) {
            do {
                prepared = .some(
                    try transaction(&messages, shouldStop: shouldStop) { tx, messages in
                        try prepareMixedOptimistically(messages, &calls, tx)
                    })
            } catch {
                markReapplied(&messages)
            }
        }
        if case .none = prepared {
            prepared = try? transaction(&messages, shouldStop: shouldStop) { tx, messages in
                calls = Array(repeating: nil, count: messages.count)
                return try messages.indices.map { index in
                    let message = messages[index]
                    guard let outside = handler(of: message)?.outside else {
                        return try inSavepoint(message, tx) { try applyOne(message, tx) }
                    }
                    return try inSavepoint(message, tx) {
                        try checkApplicable(message)
                        guard try holdCalls(of: [message], tx)[0] else {
                            throw HandlerError.retryLater(reason: "another consumer is handling this message now")
                        }
                        guard try Inbox.applied(among: [message.messageID], in: tx).isEmpty else { return .duplicate }
                        switch try outside.prepare(message, tx) {
                        case .done(let result):
                            guard
                                try Inbox.recordApplied(
                                    messageID: message.messageID, queue: queue, type: message.type, in: tx)
                            else { return .duplicate }
                            return result
                        case .call(let call):
                            calls[index] = call
                            return .applied
                        }
                    }
                }
            }
        }
        guard var decisions = prepared ?? nil else { return Array(repeating: .abandon, count: messages.count) }
        for index in calls.indices where decisions[index] != .ack(.applied) { calls[index] = nil }
        let calling = calls.indices.filter { calls[$0] != nil }
        guard !calling.isEmpty else { return decisions }

        // The calls, grouped by handler, with no transaction open.
        var answers = [Result<OutsideSteps.Erased, HandlerError>?](repeating: nil, count: messages.count)
        for (_, indices) in Dictionary(grouping: calling, by: { messages[$0].type ?? "" }) {
            guard let outside = handler(of: messages[indices[0]])?.outside else { continue }
            for (index, answer) in zip(indices, outside.call(indices.map { calls[$0]! })) { answers[index] = answer }
        }

        // Fast: every call answered, the batch settled set-based in one transaction; otherwise (or if that
        // throws) message by message in savepoints, where a failed call's verdict decides its message.
        var settled: [Decision]?? = .none
        if calling.allSatisfy({ if case .success = answers[$0] { return true } else { return false } }) {
            do {
                settled = .some(
                    try transaction(&messages, shouldStop: shouldStop) { tx, messages in
                        try settleOptimistically(calling, messages, calls, answers, tx)
                    })
            } catch {
                markReapplied(&messages)
            }
        }
        if case .none = settled {
            settled = try? transaction(&messages, shouldStop: shouldStop) { tx, messages in
                try calling.map { index in
                    let message = messages[index]
                    return try inSavepoint(message, tx) {
                        guard let outside = handler(of: message)?.outside, let call = calls[index],
                            let answer = answers[index]
                        else { throw HandlerError.park(reason: "the message's call was not made") }
                        guard
                            try Inbox.recordApplied(
                                messageID: message.messageID, queue: queue, type: message.type, in: tx)
                        else { return .duplicate }
                        return try outside.settle(message, call, try answer.get(), tx)
                    }
                }
            }
        }
        for (position, index) in calling.enumerated() { decisions[index] = (settled ?? nil)?[position] ?? .abandon }
        return decisions
    }

    /// The first step of a batch on the fast path: its messages that call out prepared
    /// (``prepareOptimistically(_:_:_:)``), the others applied as any batch's are (``applyOptimistically(_:_:)``:
    /// a dispatch queue's batch mixes claims with run starts, and its claims are set-based), in one transaction.
    private func prepareMixedOptimistically(
        _ messages: [InboundMessage], _ calls: inout [OutsideSteps.Erased?], _ tx: PGConnection
    ) throws -> [Decision] {
        calls = Array(repeating: nil, count: messages.count)
        var decisions = [Decision](repeating: .abandon, count: messages.count)
        let (outside, plain) = (
            messages.indices.filter { handler(of: messages[$0])?.outside != nil },
            messages.indices.filter { handler(of: messages[$0])?.outside == nil }
        )
        if !plain.isEmpty {
            for (index, decision) in zip(plain, try applyOptimistically(plain.map { messages[$0] }, tx)) {
                decisions[index] = decision
            }
        }
        if !outside.isEmpty {
            var prepared = [OutsideSteps.Erased?]()
            let outcome = try prepareOptimistically(outside.map { messages[$0] }, &prepared, tx)
            for (position, index) in outside.enumerated() {
                decisions[index] = outcome[position]
                calls[index] = prepared[position]
            }
        }
        return decisions
    }

    /// The first step of a batch of new messages that all call out: the calls held, the inbox asked and each
    /// handler's ``OutsideCallingHandler/prepareBatch(_:in:)`` run in one go. Throws ``FastPathAborted`` for
    /// anything but a database failure, so that the batch is prepared again message by message.
    private func prepareOptimistically(
        _ messages: [InboundMessage], _ calls: inout [OutsideSteps.Erased?], _ tx: PGConnection
    ) throws -> [Decision] {
        calls = Array(repeating: nil, count: messages.count)
        return try optimistically {
            guard try holdCalls(of: messages, tx).allSatisfy({ $0 }) else { throw FastPathAborted() }
            let applied = try Inbox.applied(among: messages.map(\.messageID), in: tx)
            var decisions = [Decision](repeating: .ack(.duplicate), count: messages.count)
            var seen = Set<String>()
            let fresh = messages.indices.filter {
                !applied.contains(messages[$0].messageID) && seen.insert(messages[$0].messageID).inserted
            }
            var done: [Int] = []
            for (_, group) in Dictionary(grouping: fresh, by: { messages[$0].type ?? "" }) {
                guard let outside = handler(of: messages[group[0]])?.outside else { throw FastPathAborted() }
                for (index, preparation) in zip(group, try outside.prepareBatch(group.map { messages[$0] }, tx)) {
                    switch preparation {
                    case .done(let result):
                        decisions[index] = .ack(result)
                        done.append(index)
                    case .call(let call):
                        calls[index] = call
                        decisions[index] = .ack(.applied)
                    }
                }
            }
            if !done.isEmpty {
                let recorded = try Inbox.recordApplied(
                    messageIDs: done.map { messages[$0].messageID }, queue: queue,
                    types: done.map { messages[$0].type },
                    in: tx)
                guard recorded.allSatisfy({ $0 }) else { throw FastPathAborted() }
            }
            return decisions
        }
    }

    /// The second step of a batch whose calls all succeeded: the inbox rows in one statement and each handler's
    /// ``OutsideCallingHandler/settleBatch(_:in:)``. Throws ``FastPathAborted`` as the first step does.
    private func settleOptimistically(
        _ calling: [Int], _ messages: [InboundMessage], _ calls: [OutsideSteps.Erased?],
        _ answers: [Result<OutsideSteps.Erased, HandlerError>?], _ tx: PGConnection
    ) throws -> [Decision] {
        try optimistically {
            let fresh = try Inbox.recordApplied(
                messageIDs: calling.map { messages[$0].messageID }, queue: queue,
                types: calling.map { messages[$0].type },
                in: tx)
            var decisions = [Decision](repeating: .ack(.duplicate), count: calling.count)
            let positions = calling.indices.filter { fresh[$0] }
            for (_, group) in Dictionary(grouping: positions, by: { messages[calling[$0]].type ?? "" }) {
                guard let outside = handler(of: messages[calling[group[0]]])?.outside else { throw FastPathAborted() }
                let items = try group.map { position -> (InboundMessage, OutsideSteps.Erased, OutsideSteps.Erased) in
                    let index = calling[position]
                    guard let call = calls[index], case .success(let answer)? = answers[index] else {
                        throw FastPathAborted()
                    }
                    return (messages[index], call, answer)
                }
                for (position, result) in zip(group, try outside.settleBatch(items, tx)) {
                    decisions[position] = .ack(result)
                }
            }
            return decisions
        }
    }

    /// `body` on a fast path: a database failure is the batch's to retry; anything else aborts the fast path.
    private func optimistically<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PGError where error.isConnectionFailure || error.isRetryableTransaction {
            throw error
        } catch let aborted as FastPathAborted {
            throw aborted
        } catch {
            throw FastPathAborted()
        }
    }

    /// Runs `body` in a transaction (the batch's lock keys taken first), again after a database failure until
    /// `shouldStop` says to give up (nil then): a PostgreSQL restart costs time, not messages. A fast path
    /// that aborts (``FastPathAborted``) is thrown to the caller.
    private func transaction<T>(
        _ messages: inout [InboundMessage], shouldStop: () -> Bool,
        _ body: (PGConnection, [InboundMessage]) throws -> T
    ) throws -> T? {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2))
        while true {
            do {
                let current = messages
                return try db.transaction { tx in
                    try lockKeys(of: current, tx)
                    return try body(tx, current)
                }
            } catch let aborted as FastPathAborted {
                throw aborted
            } catch let error as PGError where error.isConnectionFailure || error.isRetryableTransaction {
                logger.warning(
                    "database unavailable; retrying", metadata: ["error": "\(error)", "batch": "\(messages.count)"])
            } catch {
                // Outside any one message (BEGIN or COMMIT failed on a live session): try again.
                logger.error("batch transaction failed; retrying", metadata: ["error": "\(error)"])
            }
            markReapplied(&messages)
            if shouldStop() { return nil }
            Thread.sleep(forTimeInterval: Double(backoff.next().milliseconds) / 1000)
        }
    }

    /// Holds messages that call outside for this consumer's session (released after their second step, or when
    /// the session ends), in one statement; per message, false when another session holds it.
    private func holdCalls(of messages: [InboundMessage], _ tx: PGConnection) throws -> [Bool] {
        tx.prepare(
            "runtime.hold_calls",
            """
            SELECT pg_try_advisory_lock(hashtextextended('bullpen.call.' || id, 0))
              FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n
            """)
        return try tx.executePrepared("runtime.hold_calls", [PGArray(messages.map(\.messageID))]).rows.map {
            try $0.decode(at: 0, as: Bool.self)
        }
    }

    private func handler(of message: InboundMessage) -> ErasedHandler? { message.type.flatMap { handlers[$0] } }

    /// The batch's lock keys (``SerializedMessageHandler/lockKeys(_:)``), each held for the transaction, taken
    /// in one sorted order before any work: every consumer takes shared keys in the same order, so none
    /// deadlocks.
    private func lockKeys(of messages: [InboundMessage], _ tx: PGConnection) throws {
        let keys = Set(
            messages.flatMap { message in message.type.flatMap { handlers[$0] }?.lockKeys?(message) ?? [] })
        guard !keys.isEmpty else { return }
        tx.prepare(
            "runtime.lock_keys",
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n"
        )
        try tx.executePrepared("runtime.lock_keys", [PGArray(keys.sorted())])
    }

    /// From here on, each handler may have run once already (its effect rolled back).
    private func markReapplied(_ messages: inout [InboundMessage]) {
        for index in messages.indices { messages[index].reapplied = true }
    }

    /// Thrown inside the fast path to roll it back and take the careful one; with the verdict of the
    /// message whose handler gave one.
    private struct FastPathAborted: Error {
        var index: Int? = nil
        var verdict: HandlerError? = nil
    }

    private func applyOptimistically(_ messages: [InboundMessage], _ tx: PGConnection) throws -> [Decision] {
        var handlersByMessage: [ErasedHandler] = []
        for message in messages {
            guard !message.messageID.isEmpty, let type = message.type, let handler = handlers[type] else {
                throw FastPathAborted()
            }
            handlersByMessage.append(handler)
        }
        let fresh = try Inbox.recordApplied(
            messageIDs: messages.map(\.messageID), queue: queue, types: messages.map(\.type), in: tx)
        // Runs of consecutive new messages of one type whose handler applies batches go in one set-based
        // call each (the order of the batch is kept); the others one by one.
        var decisions = fresh.map { $0 ? Decision.ack(.applied) : .ack(.duplicate) }
        var index = 0
        while index < messages.count {
            guard fresh[index] else {
                index += 1
                continue
            }
            var end = index + 1
            while end < messages.count, fresh[end], messages[end].type == messages[index].type { end += 1 }
            try optimistically {
                if end - index > 1, let handleBatch = handlersByMessage[index].handleBatch {
                    try handleBatch(Array(messages[index..<end]), tx)
                } else {
                    for one in index..<end {
                        do {
                            decisions[one] = .ack(try handlersByMessage[one].handle(messages[one], tx))
                        } catch let verdict as HandlerError {
                            throw FastPathAborted(index: one, verdict: verdict)
                        }
                    }
                }
            }
            index = end
        }
        return decisions
    }

    /// `body` for one message in a savepoint of its own: an error rolls back only this message, and decides
    /// its fate (a park recorded in dead_letters with the handler's ``MessageHandler/parked(_:reason:in:)``).
    private func inSavepoint(
        _ message: InboundMessage, _ tx: PGConnection, _ body: () throws -> HandlerResult
    ) throws -> Decision {
        try tx.execute("SAVEPOINT delivery")
        do {
            let result = try body()
            try tx.execute("RELEASE SAVEPOINT delivery")
            return .ack(result)
        } catch let error as PGError where error.isConnectionFailure || error.isRetryableTransaction {
            throw error  // the whole batch is retried
        } catch {
            try tx.execute("ROLLBACK TO SAVEPOINT delivery")
            let decision = decide(after: error, attempt: message.attempt)
            var logger = self.logger
            logger[metadataKey: "message.id"] = "\(message.messageID)"
            if case .park(let reason) = decision {
                logger.warning("parking message", metadata: ["reason": "\(reason)"])
                try DeadLetters.recordParked(
                    queue: queue, messageID: message.messageID.isEmpty ? nil : message.messageID, type: message.type,
                    priority: message.priority, reason: reason, attempts: message.attempt,
                    headersJSON: message.headers.jsonString,
                    body: message.body, on: tx)
                try recordEffects(of: message, "park", logger: logger, tx) { handler in
                    try handler.parked(message, reason, tx)
                }
            } else if case .retry(let tier, let next, let reason) = decision {
                logger.info(
                    "retrying message later",
                    metadata: ["tier": "\(tier)", "attempt": "\(next)", "reason": "\(reason)"])
                let note = RetryNote(
                    tier: tier, delaySeconds: retryPolicy.delaysSeconds[tier - 1], nextAttempt: next,
                    maxAttempts: retryPolicy.maxAttempts, reason: reason)
                try recordEffects(of: message, "retry", logger: logger, tx) { handler in
                    try handler.retrying(message, note, tx)
                }
            }
            try tx.execute("RELEASE SAVEPOINT delivery")
            return decision
        }
    }

    /// The handler's record of a message's fate (``MessageHandler/parked(_:reason:in:)``,
    /// ``MessageHandler/retrying(_:_:in:)``), in a savepoint of its own: if it fails for any reason but the
    /// connection, the message still goes where it was decided (and the failure is logged).
    private func recordEffects(
        of message: InboundMessage, _ fate: String, logger: Logger, _ tx: PGConnection,
        _ record: (ErasedHandler) throws -> Void
    ) throws {
        guard let handler = message.type.flatMap({ handlers[$0] }) else { return }
        try tx.execute("SAVEPOINT fate")
        do {
            try record(handler)
            try tx.execute("RELEASE SAVEPOINT fate")
        } catch let error as PGError where error.isConnectionFailure || error.isRetryableTransaction {
            throw error
        } catch {
            try tx.execute("ROLLBACK TO SAVEPOINT fate")
            logger.error("the handler's record of a \(fate) failed", metadata: ["error": "\(error)"])
        }
    }

    /// A message with an id and a handler on this queue; parked otherwise.
    private func checkApplicable(_ message: InboundMessage) throws {
        guard !message.messageID.isEmpty else { throw HandlerError.park(reason: "the message has no message id") }
        guard handler(of: message) != nil else {
            throw HandlerError.park(reason: "no handler for message type '\(message.type ?? "")' on queue \(queue)")
        }
    }

    private func applyOne(_ message: InboundMessage, _ tx: PGConnection) throws -> HandlerResult {
        try checkApplicable(message)
        guard try Inbox.recordApplied(messageID: message.messageID, queue: queue, type: message.type, in: tx) else {
            return .duplicate
        }
        return try handler(of: message)!.handle(message, tx)
    }

    private func retry(attempt: Int, reason: String, notBefore: Int) -> Decision {
        switch retryPolicy.decide(failedAttempt: attempt, reason: reason, notBeforeSeconds: notBefore) {
        case .retry(let tier, _, let next): return .retry(tier: tier, nextAttempt: next, reason: reason)
        case .park(let reason): return .park(reason: reason)
        }
    }

    private func decide(after error: any Error, attempt: Int) -> Decision {
        switch error {
        case HandlerError.park(let reason):
            return .park(reason: reason)
        case HandlerError.retryLater(let reason):
            return retry(attempt: attempt, reason: reason, notBefore: 0)
        case HandlerError.retryAfter(let reason, let seconds):
            return retry(attempt: attempt, reason: reason, notBefore: seconds)
        default:
            // A constraint the message breaks, a bug in its content: it will not get better by retrying.
            return .park(reason: "\(error)")
        }
    }
}

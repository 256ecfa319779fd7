import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import Logging
import OpenClaw
import PostgreSQL

/// `task.dispatch`: claims the task if its agent has room (opening the next attempt, its run id and the hash
/// of its callback token committed with the claim) and sends the run start through the outbox; a task whose
/// agent is full waits, and is dispatched when a slot frees (``ResultDecider``). A batch of requests is claimed
/// in three statements.
public struct DispatchRequestHandler: BatchMessageHandler {
    public typealias Message = DispatchRequest
    let tokens: CallbackTokenIssuer?

    public init(tokens: CallbackTokenIssuer?) { self.tokens = tokens }

    public func handle(
        _ message: DispatchRequest, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        try handleBatch([(message, inbound)], in: tx)
        return .applied
    }

    public func handleBatch(
        _ messages: [(message: DispatchRequest, inbound: InboundMessage)], in tx: PGConnection
    ) throws {
        guard let tokens else {
            throw HandlerError.retryLater(reason: "no callback secret is configured (BULLPEN_CALLBACK_SECRET)")
        }
        let claims = try TaskDispatching.claim(
            messages.map { .init(taskID: $0.message.taskId, messageID: $0.inbound.messageID) },
            tokenHash: tokens.tokenHash(runID:), in: tx)
        let starts = zip(messages, claims).compactMap { request, claim -> RunStart? in
            guard case .opened(let attempt, _, let priority) = claim else { return nil }
            return RunStart(taskId: request.message.taskId, attempt: attempt, priority: priority)
        }
        try Outbox.enqueue(all: starts, in: tx)
    }
}

/// `task.run-start`: starts the attempt's run on the gateway with `agent` (the run id as idempotency key), and
/// records the acceptance, in the runtime's three steps (``OutsideCallingHandler``): the attempt read (and a
/// replayed one reopened) in a short transaction, the gateway asked with none open, the task marked running in
/// a second. A gateway that is down or slow is retried through the dispatch queue's tiers with the same attempt
/// and run id, so a run that did start is never started twice; a refusal, or the last tier, parks the message
/// and fails the task as "dispatch failed". A batch's first deliveries send their `agent` requests at once.
public struct RunStartHandler: OutsideCallingHandler {
    public typealias Message = RunStart
    let gateway: any AgentGateway
    let tokens: CallbackTokenIssuer?
    let callbackURL: String
    let acceptTimeout: Duration

    public init(
        gateway: any AgentGateway, tokens: CallbackTokenIssuer?, callbackURL: String,
        acceptTimeout: Duration = .seconds(15)
    ) {
        self.gateway = gateway
        self.tokens = tokens
        self.callbackURL = callbackURL
        self.acceptTimeout = acceptTimeout
    }

    /// One attempt's `agent` request.
    public struct Call: Sendable {
        let request: RunRequest
        /// What the run is asked to use beyond its agent, recorded on the attempt once accepted.
        let options: RunOptions
        let openedAt: Date
        /// A delivery before this one may have reached the gateway: its session is asked first.
        let askFirst: Bool
    }

    public func prepare(
        _ message: RunStart, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> Preparation<Call>
    {
        guard var run = try TaskDispatching.runContexts([(message.taskId, message.attempt)], in: tx).first else {
            throw HandlerError.park(reason: "task \(message.taskId) has no attempt \(message.attempt)")
        }
        // A replay from the dead-letter queue after a failed spawn opens the attempt again; its run may have
        // started after all (a timeout before `accepted`), so the gateway's sessions are asked first.
        let replayed = try TaskDispatching.reopenSpawnFailed(run, messageID: inbound.messageID, in: tx)
        if replayed {
            guard let reopened = try TaskDispatching.runContexts([(message.taskId, message.attempt)], in: tx).first
            else { throw HandlerError.park(reason: "task \(message.taskId) has no attempt \(message.attempt)") }
            run = reopened
        }
        // Closed (cancelled, failed) or started already: a replay of this message starts nothing.
        guard run.open, run.taskStatus == .assigned else { return .done(.duplicate) }
        return .call(
            Call(
                request: try runRequest(run), options: Self.options(run), openedAt: run.openedAt,
                askFirst: replayed || inbound.redelivered || inbound.attempt > 1 || inbound.reapplied))
    }

    /// A batch of first deliveries: their attempts read in one statement. Anything a message must decide on
    /// its own (no such attempt, a replay to reopen, a delivery before this one) sends the batch to
    /// ``prepare(_:_:in:)``.
    public func prepareBatch(
        _ messages: [(message: RunStart, inbound: InboundMessage)], in tx: PGConnection
    ) throws -> [Preparation<Call>] {
        guard messages.allSatisfy({ !$0.inbound.redelivered && $0.inbound.attempt == 1 && !$0.inbound.reapplied })
        else { throw BatchDeclined(reason: "a redelivered run start is prepared on its own") }
        let runs = try TaskDispatching.runContexts(messages.map { ($0.message.taskId, $0.message.attempt) }, in: tx)
        let byAttempt = Dictionary(runs.map { ("\($0.taskID)/\($0.attempt)", $0) }) { first, _ in first }
        return try messages.map { message, _ in
            guard let run = byAttempt["\(message.taskId)/\(message.attempt)"], !run.spawnFailed else {
                throw BatchDeclined(reason: "run start \(message.runID) is prepared on its own")
            }
            guard run.open, run.taskStatus == .assigned else { return .done(.duplicate) }
            return .call(
                Call(request: try runRequest(run), options: Self.options(run), openedAt: run.openedAt, askFirst: false))
        }
    }

    /// The runs the gateway accepted, recorded in one statement: the tasks still waiting for their start run (an
    /// attempt settled or cancelled while the gateway answered stays as it is).
    public func settleBatch(
        _ settled: [(message: RunStart, inbound: InboundMessage, call: Call, answer: RunAnswer)], in tx: PGConnection
    ) throws -> [HandlerResult] {
        let runs = try TaskDispatching.runContexts(settled.map { ($0.message.taskId, $0.message.attempt) }, in: tx)
        let waiting = Dictionary(
            runs.filter { $0.open && $0.taskStatus == .assigned }.map { ("\($0.taskID)/\($0.attempt)", $0) }
        ) { first, _ in first }
        let started = settled.compactMap { item -> TaskDispatching.StartedRun? in
            waiting["\(item.message.taskId)/\(item.message.attempt)"].map {
                .init(
                    $0, sessionKey: item.call.request.sessionKey, timeoutSeconds: item.call.request.timeout,
                    messageID: item.inbound.messageID, options: item.call.options)
            }
        }
        if !started.isEmpty { try TaskDispatching.started(started, in: tx) }
        return settled.map { _ in .applied }
    }

    /// The batch is prepared one message at a time instead.
    struct BatchDeclined: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    public func call(_ calls: [Call]) -> [Result<RunAnswer, HandlerError>] {
        // First deliveries at once; the others ask the task's session first, one by one.
        let fresh = calls.indices.filter { !calls[$0].askFirst }
        var answers = [Result<RunAnswer, HandlerError>](
            repeating: .failure(.park(reason: "no answer")), count: calls.count)
        for (index, answer) in zip(fresh, gateway.startRuns(fresh.map { calls[$0].request }, timeout: acceptTimeout)) {
            answers[index] = Self.verdict(answer)
        }
        for index in calls.indices where calls[index].askFirst {
            answers[index] = Self.verdict(Result { () throws(GatewayError) in try askThenStart(calls[index]) })
        }
        return answers
    }

    /// A delivery before this one (or this one, in a transaction rolled back) may have reached the gateway,
    /// which may since have forgotten the key (a restart, or more than 5 minutes): if the task's session was
    /// touched after this attempt opened, its run started, and is not started again.
    private func askThenStart(_ call: Call) throws(GatewayError) -> RunAnswer {
        if let updated = try gateway.sessionUpdatedAt(call.request.sessionKey, timeout: acceptTimeout),
            updated >= Int64(call.openedAt.timeIntervalSince1970 * 1000)
        {
            return RunAnswer(status: "in_flight", runID: call.request.idempotencyKey)
        }
        return try gateway.startRun(call.request, timeout: acceptTimeout)
    }

    /// Accepted, in flight, or the final status of a run that already ended: the run exists. A gateway down or
    /// slow is tried again later; anything else it says is final.
    private static func verdict(_ answer: Result<RunAnswer, GatewayError>) -> Result<RunAnswer, HandlerError> {
        switch answer {
        case .failure(let error) where error.isTransient: return .failure(.retryLater(reason: error.description))
        case .failure(let error): return .failure(.park(reason: error.description))
        case .success(let answer) where ["accepted", "in_flight", "ok", "error", "timeout"].contains(answer.status):
            return .success(answer)
        case .success(let answer):
            return .failure(.park(reason: "the gateway answered agent with status \(answer.status)"))
        }
    }

    /// The task runs, unless its attempt was settled or cancelled while the gateway answered.
    public func settle(
        _ message: RunStart, _ inbound: InboundMessage, _ call: Call, _ answer: RunAnswer, in tx: PGConnection
    ) throws -> HandlerResult {
        try settleBatch([(message, inbound, call, answer)], in: tx)[0]
    }

    public func parked(_ message: RunStart, reason: String, in tx: PGConnection) throws {
        guard
            let task = try TaskDispatching.spawnFailed(
                taskID: message.taskId, attempt: message.attempt, reason: reason,
                messageID: "run-start-parked:\(message.runID)", in: tx)
        else { return }
        try Notify.operators(
            .dispatchFailed, cause: message.runID, taskID: message.taskId, projectID: task.projectID,
            data: [
                "taskId": String(message.taskId), "title": task.title, "attempt": String(message.attempt),
                "reason": reason,
            ], priority: 5, in: tx)
    }

    /// The run start waits in a retry tier: recorded on the task (`task.dispatch_retrying`), for "why is this
    /// task waiting?".
    public func retrying(_ message: RunStart, _ retry: RetryNote, in tx: PGConnection) throws {
        let data: [String: Any] = [
            "attempt": message.attempt, "tier": retry.tier, "delaySeconds": retry.delaySeconds,
            "delivery": retry.nextAttempt, "maxDeliveries": retry.maxAttempts, "reason": retry.reason,
            "retryAt": Date().addingTimeInterval(Double(retry.delaySeconds)).formatted(.iso8601),
        ]
        try EventLog.record(
            "task.dispatch_retrying",
            "Task \(message.taskId)'s run start (attempt \(message.attempt)) retries in \(retry.delaySeconds) s: \(retry.reason)",
            data: String(
                decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]), as: UTF8.self),
            about: .init(taskID: message.taskId), messageID: "run-start-retry:\(message.runID):\(retry.nextAttempt)",
            in: tx)
    }

    /// The `agent` request of an attempt.
    private func runRequest(_ run: TaskDispatching.RunContext) throws -> RunRequest {
        guard let tokens else {
            throw HandlerError.retryLater(reason: "no callback secret is configured (BULLPEN_CALLBACK_SECRET)")
        }
        return RunRequest(
            message: RunPrompt.message(run, callbackURL: callbackURL, token: tokens.token(runID: run.runID)),
            agentId: run.agentName, sessionKey: RunID.sessionKey(gatewayAgentID: run.agentName, taskId: run.taskID),
            label: "Bullpen task \(run.taskID)", timeout: RunPrompt.timeoutSeconds(run), deliver: false,
            idempotencyKey: run.runID, extraSystemPrompt: RunPrompt.extraSystemPrompt(run),
            provider: run.model.flatMap(ModelName.init)?.provider, model: run.model.flatMap(ModelName.init)?.model,
            thinking: run.thinking?.rawValue)
    }

    static func options(_ run: TaskDispatching.RunContext) -> RunOptions {
        RunOptions(model: run.model, thinking: run.thinking, documents: run.knowledge.map(\.name))
    }
}

/// Dispatches tasks nobody dispatched by hand, as the `task.dispatch` command would (routing, priority); a
/// task no agent can take now stays pending for the next try. Each in a savepoint of its own.
enum AutoDispatch {
    static func dispatch(_ taskIDs: [Int64], messageID: String, now: Date = Date(), in tx: PGConnection) throws {
        for id in taskIDs {
            let cause = "auto:\(messageID)"
            try tx.execute("SAVEPOINT auto_dispatch")
            do {
                let requested = try TaskDispatching.request(TaskDispatch(id: id), messageID: cause, now: now, in: tx)
                try Outbox.enqueue(DispatchRequest(taskId: id, cause: cause, priority: requested.priority), in: tx)
                try tx.execute("RELEASE SAVEPOINT auto_dispatch")
            } catch is CommandRejection {
                try tx.execute("ROLLBACK TO SAVEPOINT auto_dispatch")
            }
        }
    }
}

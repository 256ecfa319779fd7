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
/// records the acceptance. A gateway that is down or slow is retried through the dispatch queue's tiers with
/// the same attempt and run id, so a run that did start is never started twice; a refusal, or the last tier,
/// parks the message and fails the task as "dispatch failed". A batch of first deliveries sends its `agent`
/// requests at once and records them in one statement; anything else (a redelivery, a failure) sends the
/// batch down the one-by-one path, where the same run ids make the second `agent` harmless.
public struct RunStartHandler: BatchMessageHandler {
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

    public func handle(_ message: RunStart, _ inbound: InboundMessage, in tx: PGConnection) throws -> HandlerResult {
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
        guard run.open, run.taskStatus == .assigned else { return .duplicate }
        let request = try runRequest(run)
        let answer: RunAnswer
        do {
            // A delivery before this one (or this one, in a batch rolled back) may have reached the gateway,
            // which may since have forgotten the key (a restart, or more than 5 minutes): if the task's session
            // was touched after this attempt opened, its run started, and is not started again.
            if replayed || inbound.redelivered || inbound.attempt > 1 || inbound.reapplied,
                let updated = try gateway.sessionUpdatedAt(request.sessionKey, timeout: acceptTimeout),
                updated >= Int64(run.openedAt.timeIntervalSince1970 * 1000)
            {
                answer = RunAnswer(status: "in_flight", runID: run.runID)
            } else {
                answer = try gateway.startRun(request, timeout: acceptTimeout)
            }
        } catch {
            if error.isTransient { throw HandlerError.retryLater(reason: error.description) }
            throw HandlerError.park(reason: error.description)
        }
        try Self.check(answer)
        try TaskDispatching.started(
            [.init(run, sessionKey: request.sessionKey, timeoutSeconds: request.timeout, messageID: inbound.messageID)],
            in: tx)
        return .applied
    }

    public func handleBatch(
        _ messages: [(message: RunStart, inbound: InboundMessage)], in tx: PGConnection
    ) throws {
        guard messages.allSatisfy({ !$0.inbound.redelivered && $0.inbound.attempt == 1 && !$0.inbound.reapplied })
        else {
            throw BatchDeclined(reason: "a redelivered run start is checked on its own")
        }
        let runs = try TaskDispatching.runContexts(messages.map { ($0.message.taskId, $0.message.attempt) }, in: tx)
        let byAttempt = Dictionary(runs.map { ("\($0.taskID)/\($0.attempt)", $0) }) { first, _ in first }
        var starting: [(run: TaskDispatching.RunContext, request: RunRequest, messageID: String)] = []
        for (message, inbound) in messages {
            guard let run = byAttempt["\(message.taskId)/\(message.attempt)"] else {
                throw BatchDeclined(reason: "task \(message.taskId) has no attempt \(message.attempt)")
            }
            guard run.open, run.taskStatus == .assigned else {
                // Started already: a no-op here too. A dead-letter replay: on its own (it may reopen the attempt).
                if run.spawnFailed { throw BatchDeclined(reason: "a replayed run start is checked on its own") }
                continue
            }
            starting.append((run, try runRequest(run), inbound.messageID))
        }
        let answers = gateway.startRuns(starting.map(\.request), timeout: acceptTimeout)
        for answer in answers { try Self.check(try answer.get()) }
        try TaskDispatching.started(
            starting.map {
                .init(
                    $0.run, sessionKey: $0.request.sessionKey, timeoutSeconds: $0.request.timeout,
                    messageID: $0.messageID)
            }, in: tx)
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

    /// The `agent` request of an attempt.
    private func runRequest(_ run: TaskDispatching.RunContext) throws -> RunRequest {
        guard let tokens else {
            throw HandlerError.retryLater(reason: "no callback secret is configured (BULLPEN_CALLBACK_SECRET)")
        }
        return RunRequest(
            message: RunPrompt.message(run, callbackURL: callbackURL, token: tokens.token(runID: run.runID)),
            agentId: run.agentName, sessionKey: RunID.sessionKey(gatewayAgentID: run.agentName, taskId: run.taskID),
            label: "Bullpen task \(run.taskID)", timeout: RunPrompt.timeoutSeconds(run), deliver: false,
            idempotencyKey: run.runID, extraSystemPrompt: RunPrompt.extraSystemPrompt(run))
    }

    /// accepted, in flight, or the final status of a run that already ended: the run exists.
    private static func check(_ answer: RunAnswer) throws {
        guard ["accepted", "in_flight", "ok", "error", "timeout"].contains(answer.status) else {
            throw HandlerError.park(reason: "the gateway answered agent with status \(answer.status)")
        }
    }

    /// The batch is applied one message at a time instead.
    struct BatchDeclined: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
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

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import OpenClaw
import PostgreSQL

/// `task.session`: an operator's message to a running task's agent (`chat.send`), or its run's abort
/// (`chat.abort`), on the gateway, in the runtime's three steps (no transaction open while the gateway
/// answers). A gateway that is away (restarting, partitioned) is waited for through the dispatch queue's
/// tiers. A send has our own idempotency key, and a redelivery (the gateway may have taken the message and
/// then restarted, forgetting its keys) first reads the session's transcript for the message's ref, so the
/// agent gets the message once. A refusal parks the request with the gateway's reason, on the task's record.
public struct SessionRequestHandler: OutsideCallingHandler {
    public typealias Message = SessionRequest
    let gateway: any AgentGateway
    let timeout: Duration

    public init(gateway: any AgentGateway, timeout: Duration = .seconds(15)) {
        self.gateway = gateway
        self.timeout = timeout
    }

    public struct Call: Sendable {
        let request: SessionRequest
        /// A delivery before this one may have reached the gateway: the transcript is read first.
        let askFirst: Bool
    }

    /// What the gateway said: the send's or abort's answer, or that the transcript holds the message already.
    public struct Answer: Sendable {
        let delivered: Bool
        let detail: String
    }

    public func prepare(
        _ message: SessionRequest, _ inbound: InboundMessage, in tx: PGConnection
    ) throws -> Preparation<Call> {
        if message.action == .send {
            let open = try tx.query(
                "SELECT closed_at IS NULL AS open FROM task_attempts WHERE task_id = $1 AND attempt = $2",
                [message.taskId, message.attempt]
            ).first?.decode("open", as: Bool.self)
            guard open == true else {
                try EventLog.record(
                    "task.operator_message_dropped",
                    "Task \(message.taskId)'s run (attempt \(message.attempt)) ended before the operator's message (ref \(message.ref)) reached it",
                    about: .init(taskID: message.taskId), messageID: inbound.messageID, in: tx)
                return .done(.applied)
            }
        }
        return .call(
            Call(request: message, askFirst: inbound.redelivered || inbound.attempt > 1 || inbound.reapplied))
    }

    public func call(_ calls: [Call]) -> [Result<Answer, HandlerError>] {
        calls.map { call in
            do throws(GatewayError) {
                return .success(try answer(call))
            } catch  where error.isTransient {
                return .failure(.retryLater(reason: error.description))
            } catch {
                return .failure(.park(reason: error.description))
            }
        }
    }

    private func answer(_ call: Call) throws(GatewayError) -> Answer {
        let request = call.request
        switch request.action {
        case .send:
            if call.askFirst, try transcriptHolds(request) {
                return Answer(delivered: false, detail: "the session's transcript holds it already")
            }
            let answer = try gateway.session(
                "chat.send",
                [
                    "sessionKey": .string(request.sessionKey), "message": .string(request.sentText),
                    "idempotencyKey": .string(request.idempotencyKey),
                ], timeout: timeout)
            return Answer(
                delivered: true,
                detail: "run \(answer["runId"]?.string ?? "?") \(answer["status"]?.string ?? "started")")
        case .abort:
            let answer = try gateway.session(
                "chat.abort", ["sessionKey": .string(request.sessionKey), "runId": .string(request.runID)],
                timeout: timeout)
            let aborted = answer["aborted"]?.bool ?? true
            return Answer(delivered: aborted, detail: aborted ? "aborted" : "no run was active in the session")
        }
    }

    /// Whether the session's transcript holds the request's ref (the send reached the gateway before).
    private func transcriptHolds(_ request: SessionRequest) throws(GatewayError) -> Bool {
        let history = try gateway.session(
            "chat.history", ["sessionKey": .string(request.sessionKey), "limit": 200], timeout: timeout)
        let marker = "(ref \(request.ref))"
        return (history["messages"]?.array ?? []).contains { message in
            (message["content"]?.array ?? []).contains { $0["text"]?.string?.contains(marker) == true }
                || message["content"]?.string?.contains(marker) == true
        }
    }

    public func settle(
        _ message: SessionRequest, _ inbound: InboundMessage, _ call: Call, _ answer: Answer, in tx: PGConnection
    ) throws -> HandlerResult {
        let (type, text) =
            switch message.action {
            case .send:
                (
                    "task.operator_message_delivered",
                    "The operator's message (ref \(message.ref)) reached task \(message.taskId)'s agent: \(answer.detail)"
                )
            case .abort:
                (
                    "task.run_aborted",
                    "Task \(message.taskId)'s run (attempt \(message.attempt)) on the gateway: \(answer.detail)"
                )
            }
        try EventLog.record(type, text, about: .init(taskID: message.taskId), messageID: inbound.messageID, in: tx)
        return answer.delivered ? .applied : .duplicate
    }

    public func parked(_ message: SessionRequest, reason: String, in tx: PGConnection) throws {
        try EventLog.record(
            message.action == .send ? "task.operator_message_failed" : "task.abort_failed",
            "Task \(message.taskId): the gateway did not take the operator's \(message.action == .send ? "message" : "abort") (ref \(message.ref)): \(reason)",
            about: .init(taskID: message.taskId), messageID: "session-parked:\(message.ref)", in: tx)
    }
}

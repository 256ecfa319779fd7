import Foundation
import OpenClaw

/// Starting a run on the gateway, as the dispatch handlers need it: blocking (handlers run on their
/// consumer's thread, inside its transaction), with a deadline for the first answer.
public protocol AgentGateway: Sendable {
    /// Sends `agent` and waits for its first answer: accepted, in flight (the key is running already) or
    /// the final reply of a run that already ended.
    func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer
}

/// The `agent` request's params, exactly the fields the gateway's schema allows that Bullpen uses.
public struct RunRequest: Sendable, Equatable, Encodable {
    public var message: String
    public var agentId: String
    public var sessionKey: String
    public var label: String
    public var timeout: Int
    public var deliver: Bool
    public var idempotencyKey: String
    public var extraSystemPrompt: String?
}

/// The first answer to `agent`.
public struct RunAnswer: Sendable, Equatable {
    /// accepted, in_flight, or a final status (ok, error, timeout) for a run that ended already.
    public var status: String
    public var runID: String
}

/// The gateway client, blocking: the request goes out on the process's one connection.
public struct GatewayRuns: AgentGateway {
    let client: GatewayClient

    public init(client: GatewayClient) { self.client = client }

    public func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer {
        let box = AnswerBox()
        let done = DispatchSemaphore(value: 0)
        let client = self.client
        Task {
            defer { done.signal() }
            do {
                let params = try JSONValue(encoding: request)
                let answers = try await client.send("agent", params, timeout: timeout)
                let first = try await answers.next(timeout: timeout, what: "agent")
                box.set(.success(first))
                // The second answer (the final reply) is not awaited here: the agent reports its result
                // through the task-result webhook. Stop listening so the request's entry is freed.
                answers.cancel()
            } catch let error as GatewayError {
                box.set(.failure(error))
            } catch {
                box.set(.failure(.protocolViolation("\(error)")))
            }
        }
        done.wait()
        let answer = try box.result.get()
        guard let status = answer["status"]?.string else {
            throw GatewayError.protocolViolation("the answer to agent has no status")
        }
        return RunAnswer(status: status, runID: answer["runId"]?.string ?? request.idempotencyKey)
    }

    private final class AnswerBox: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Result<JSONValue, GatewayError> = .failure(.connectionLost("no answer"))
        func set(_ result: Result<JSONValue, GatewayError>) { lock.withLock { stored = result } }
        var result: Result<JSONValue, GatewayError> { lock.withLock { stored } }
    }
}

/// A gateway that is not configured: every run start fails with the reason (and is retried, then parked).
public struct UnconfiguredGateway: AgentGateway {
    let reason: String
    public init(reason: String) { self.reason = reason }

    public func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer {
        throw GatewayError.connectionLost(reason)
    }
}

import BullpenDomain
import Foundation
import OpenClaw

/// Starting a run on the gateway, as the dispatch handlers need it: blocking (handlers run on their
/// consumer's thread, inside its transaction), with a deadline for the first answer.
public protocol AgentGateway: Sendable {
    /// Sends `agent` and waits for its first answer: accepted, in flight (the key is running already) or
    /// the final reply of a run that already ended.
    func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer

    /// Starts many runs at once and waits for every first answer (or failure), in the requests' order.
    func startRuns(_ requests: [RunRequest], timeout: Duration) -> [Result<RunAnswer, GatewayError>]

    /// When the session `key` was last updated (ms since the epoch), from `sessions.list`; nil when the
    /// gateway has no such session.
    func sessionUpdatedAt(_ key: String, timeout: Duration) throws(GatewayError) -> Int64?

    /// A request about a run's session (`chat.send`, `chat.abort`, `chat.history`) and its answer.
    func session(_ method: String, _ params: JSONValue, timeout: Duration) throws(GatewayError) -> JSONValue
}

extension AgentGateway {
    /// One after the other.
    public func startRuns(_ requests: [RunRequest], timeout: Duration) -> [Result<RunAnswer, GatewayError>] {
        requests.map { request in Result { () throws(GatewayError) in try startRun(request, timeout: timeout) } }
    }
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
    /// A Scale configuration's model (the gateway takes these from an `operator.admin` device only) and
    /// thinking level; left out when nil.
    public var provider: String?
    public var model: String?
    public var thinking: String?

    public init(
        message: String, agentId: String, sessionKey: String, label: String, timeout: Int, deliver: Bool,
        idempotencyKey: String, extraSystemPrompt: String? = nil, provider: String? = nil, model: String? = nil,
        thinking: String? = nil
    ) {
        self.message = message
        self.agentId = agentId
        self.sessionKey = sessionKey
        self.label = label
        self.timeout = timeout
        self.deliver = deliver
        self.idempotencyKey = idempotencyKey
        self.extraSystemPrompt = extraSystemPrompt
        self.provider = provider
        self.model = model
        self.thinking = thinking
    }
}

/// The first answer to `agent`.
public struct RunAnswer: Sendable, Equatable {
    /// accepted, in_flight, or a final status (ok, error, timeout) for a run that ended already.
    public var status: String
    public var runID: String
}

/// How a run ended, from the gateway's final reply to `agent`.
public struct RunFinal: Sendable, Equatable {
    public var runID: String
    /// ok, error or timeout.
    public var status: String
    /// The reply's text payloads, for a run that ended ok.
    public var text: String?
    public var summary: String?
    /// What the gateway reported the run used (`result.meta.agentMeta`), when it did.
    public var usage: RunUsage?

    public init(runID: String, status: String, text: String?, summary: String?, usage: RunUsage? = nil) {
        self.runID = runID
        self.status = status
        self.text = text
        self.summary = summary
        self.usage = usage
    }
}

/// The gateway client, blocking: the request goes out on the process's one connection. After the first
/// answer, the second (the final reply) is awaited in the background and handed to `onFinal`.
public struct GatewayRuns: AgentGateway {
    let client: GatewayClient
    let onFinal: (@Sendable (RunFinal) async -> Void)?
    /// Told, per run, its share of the time a call waited for the first answers to `agent` (the gateway's share
    /// of a dispatch).
    let onAnswer: (@Sendable (Duration) -> Void)?

    public init(
        client: GatewayClient, onFinal: (@Sendable (RunFinal) async -> Void)? = nil,
        onAnswer: (@Sendable (Duration) -> Void)? = nil
    ) {
        self.client = client
        self.onFinal = onFinal
        self.onAnswer = onAnswer
    }

    public func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer {
        try startRuns([request], timeout: timeout)[0].get()
    }

    /// The requests go out at once on the connection; their first answers are awaited together.
    public func startRuns(_ requests: [RunRequest], timeout: Duration) -> [Result<RunAnswer, GatewayError>] {
        let (client, onFinal) = (self.client, self.onFinal)
        let sent = ContinuousClock.now
        defer {
            // The wall time of the whole call, shared among its runs (as handler times are among a batch).
            let share = (ContinuousClock.now - sent) / max(1, requests.count)
            for _ in requests { onAnswer?(share) }
        }
        do {
            return try Self.blocking { () async throws(GatewayError) -> [Result<RunAnswer, GatewayError>] in
                let runs = requests.map { request in
                    Task { () async -> Result<RunAnswer, GatewayError> in
                        do throws(GatewayError) {
                            return .success(
                                try await Self.start(request, timeout: timeout, client: client, onFinal: onFinal))
                        } catch { return .failure(error) }
                    }
                }
                var results: [Result<RunAnswer, GatewayError>] = []
                for run in runs { results.append(await run.value) }
                return results
            }
        } catch {
            return requests.map { _ in .failure(error) }
        }
    }

    /// Sends `agent` and returns its first answer; an accepted run's final reply is awaited apart.
    private static func start(
        _ request: RunRequest, timeout: Duration, client: GatewayClient,
        onFinal: (@Sendable (RunFinal) async -> Void)?
    ) async throws(GatewayError) -> RunAnswer {
        let params: JSONValue
        do { params = try JSONValue(encoding: request) } catch {
            throw GatewayError.protocolViolation("\(error)")
        }
        let answers = try await client.send("agent", params, timeout: timeout)
        let first = try await answers.next(timeout: timeout, what: "agent")
        guard let status = first["status"]?.string else {
            answers.cancel()
            throw GatewayError.protocolViolation("the answer to agent has no status")
        }
        let answer = RunAnswer(status: status, runID: first["runId"]?.string ?? request.idempotencyKey)
        guard status == "accepted", let onFinal else {
            answers.cancel()
            return answer
        }
        // The final reply comes when the run ends (minutes later): awaited apart from the handler.
        let runTimeout = Duration.seconds(request.timeout) + .seconds(60)
        Task {
            defer { answers.cancel() }
            if let final = await Self.final(
                of: answers, runID: request.idempotencyKey, sessionKey: request.sessionKey, timeout: runTimeout,
                client: client)
            {
                await onFinal(final)
            }
        }
        return answer
    }

    public func sessionUpdatedAt(_ key: String, timeout: Duration) throws(GatewayError) -> Int64? {
        let client = self.client
        let sessions =
            try Self.blocking { () async throws(GatewayError) -> JSONValue in
                try await client.request("sessions.list", [:], timeout: timeout)
            }["sessions"]?.array ?? []
        return sessions.first { $0["key"]?.string == key }?["updatedAt"]?.number.map { Int64($0) }
    }

    public func session(_ method: String, _ params: JSONValue, timeout: Duration) throws(GatewayError) -> JSONValue {
        let client = self.client
        return try Self.blocking { () async throws(GatewayError) -> JSONValue in
            try await client.request(method, params, timeout: timeout)
        }
    }

    /// Runs an async gateway call from a handler's thread (not a cooperative one) and waits for it.
    static func blocking<Value: Sendable>(
        _ call: @escaping @Sendable () async throws(GatewayError) -> Value
    ) throws(GatewayError) -> Value {
        let box = AnswerBox<Value>()
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            do throws(GatewayError) { box.set(.success(try await call())) } catch { box.set(.failure(error)) }
        }
        done.wait()
        return try box.result.get()
    }

    /// The second answer as a RunFinal; nil when none came (the connection was lost: the stuck-attempt
    /// check finds such runs).
    static func final(
        of answers: GatewayClient.Answers, runID: String, sessionKey: String, timeout: Duration, client: GatewayClient
    ) async -> RunFinal? {
        do {
            let reply = try await answers.next(timeout: timeout, what: "the final reply")
            let text = reply["result"]?["payloads"]?.array?.compactMap { $0["text"]?.string }.joined(separator: "\n\n")
            return RunFinal(
                runID: runID, status: reply["status"]?.string ?? "ok", text: text,
                summary: reply["summary"]?.string ?? reply["stopReason"]?.string,
                usage: usage(of: reply["result"]?["meta"]?["agentMeta"]))
        } catch .refused(let error) where error.payload?["status"]?.string == "error" {
            return RunFinal(
                runID: runID, status: "error", text: nil, summary: error.payload?["summary"]?.string ?? error.message)
        } catch .connectionLost {
            return await waited(
                runID: runID, sessionKey: sessionKey, until: ContinuousClock.now + timeout, client: client)
        } catch {
            return nil
        }
    }

    /// `agentMeta {provider, model, usage {input, output, cacheRead, cacheWrite}}`; nil when the reply has none.
    static func usage(of meta: JSONValue?) -> RunUsage? {
        guard let meta, meta.object != nil else { return nil }
        let usage = meta["usage"]
        func tokens(_ name: String) -> Int { max(0, usage?[name]?.int ?? 0) }
        return RunUsage(
            provider: meta["provider"]?.string, model: meta["model"]?.string, input: tokens("input"),
            output: tokens("output"), cacheRead: tokens("cacheRead"), cacheWrite: tokens("cacheWrite"))
    }

    /// The final reply was lost with its connection (the gateway does not resend it): ``RunWitness`` asks on
    /// the next connection how the run ended (`agent.wait`), and a run that ended ok gives its reply from its
    /// session's transcript (`chat.history`), so the work is kept even when the callback never comes.
    static func waited(
        runID: String, sessionKey: String, until deadline: ContinuousClock.Instant, client: GatewayClient
    ) async -> RunFinal? {
        let witness = RunWitness(client: client)
        while ContinuousClock.now < deadline {
            switch await witness.verdict(runID: runID, sessionKey: sessionKey) {
            case .ended(let final): return final
            case .lost: return nil  // the stuck-attempt check settles it
            case .running: continue
            case .unreachable: try? await Task.sleep(for: .seconds(1))
            }
        }
        return nil
    }

    private final class AnswerBox<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Result<Value, GatewayError> = .failure(.connectionLost("no answer"))
        func set(_ result: Result<Value, GatewayError>) { lock.withLock { stored = result } }
        var result: Result<Value, GatewayError> { lock.withLock { stored } }
    }
}

/// A gateway that is not configured: every run start fails with the reason (and is retried, then parked).
public struct UnconfiguredGateway: AgentGateway {
    let reason: String
    public init(reason: String) { self.reason = reason }

    public func startRun(_ request: RunRequest, timeout: Duration) throws(GatewayError) -> RunAnswer {
        throw GatewayError.connectionLost(reason)
    }

    public func sessionUpdatedAt(_ key: String, timeout: Duration) throws(GatewayError) -> Int64? {
        throw GatewayError.connectionLost(reason)
    }

    public func session(_ method: String, _ params: JSONValue, timeout: Duration) throws(GatewayError) -> JSONValue {
        throw GatewayError.connectionLost(reason)
    }
}

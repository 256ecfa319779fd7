import BullpenDomain
import Crypto
import Foundation
import HTTPClient
import HummingbirdWebSocket
import OpenClaw

/// One client's connection to the sandbox gateway: the handshake, then its requests.
struct GatewaySession: Sendable {
    let gateway: SandboxGateway
    let outbound: WebSocketOutboundWriter

    func send(_ frame: GatewayFrame) async { try? await outbound.write(.text(frame.text)) }

    func fail(_ id: String, _ code: String, _ message: String, details: JSONValue? = nil) async {
        await send(
            .response(id: id, result: .failure(GatewayErrorShape(code: code, message: message, details: details))))
    }

    func run(_ inbound: WebSocketInboundStream) async throws {
        let connection = gateway.state.withLock { state in
            state.nextConnection += 1
            return state.nextConnection
        }
        defer { _ = gateway.state.withLock { $0.connections.removeValue(forKey: connection) } }
        let nonce = UUID().uuidString.lowercased()
        await send(
            .event(
                name: "connect.challenge",
                payload: ["nonce": .string(nonce), "ts": .number(Date().timeIntervalSince1970 * 1000)], seq: nil))
        var messages = inbound.messages(maxSize: 26_214_400).makeAsyncIterator()
        guard case .text(let first) = try await messages.next() else { return }
        guard first.utf8.count <= 65_536 else {
            try await outbound.close(.messageTooLarge, reason: "frame before login over 64 KiB")
            return
        }
        guard case .request(let id, "connect", let params) = try? GatewayFrame.parse(first) else {
            await fail("connect", "INVALID_REQUEST", "the first frame must be a connect request")
            try await outbound.close(.policyViolation, reason: "connect required")
            return
        }
        if gateway.state.withLock({ $0.faults.starting }) {
            await send(
                .response(
                    id: id,
                    result: .failure(
                        GatewayErrorShape(
                            code: "UNAVAILABLE", message: "gateway starting", details: ["reason": "startup-sidecars"],
                            retryable: true, retryAfterMs: 500))))
            try await outbound.close(.unknown(1013), reason: "starting")
            return
        }
        let accepted: ConnectCheck.Accepted
        switch ConnectCheck.check(params, token: gateway.configuration.token, nonce: nonce, now: Date()) {
        case .failure(let refusal):
            await send(.response(id: id, result: .failure(refusal.error)))
            try await outbound.close(.unknown(refusal.close), reason: refusal.error.message)
            return
        case .success(let value):
            accepted = value
        }
        let tickMs =
            Double(gateway.configuration.tickInterval.components.seconds * 1000)
            + Double(gateway.configuration.tickInterval.components.attoseconds / 1_000_000_000_000_000)
        await send(
            .response(
                id: id,
                result: .success([
                    "type": "hello-ok", "protocol": 4,
                    "server": ["version": "sandbox", "connId": .string("c\(connection)")],
                    "features": [
                        "methods": ["agent", "agent.wait", "status", "sessions.list", "chat.history", "agents.list"]
                    ],
                    "snapshot": ["uptimeMs": 0, "stateVersion": 1],
                    "auth": ["role": "operator", "scopes": .array(accepted.scopes.map { .string($0) })],
                    "policy": [
                        "maxPayload": 26_214_400, "maxBufferedBytes": 52_428_800, "tickIntervalMs": .number(tickMs),
                    ],
                ])))
        gateway.state.withLock { state in
            state.connections[connection] = outbound
            state.snapshot.connectionsAccepted += 1
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: gateway.configuration.tickInterval)
                    if gateway.state.withLock({ $0.faults.silent }) { continue }
                    try await outbound.write(
                        .text(
                            GatewayFrame.event(
                                name: "tick", payload: ["ts": .number(Date().timeIntervalSince1970 * 1000)],
                                seq: gateway.nextSeq()
                            ).text))
                }
            }
            while let message = try await messages.next() {
                guard case .text(let text) = message else { continue }
                guard case .request(let id, let method, let params) = try? GatewayFrame.parse(text) else { continue }
                let session = self
                let scopes = accepted.scopes
                Task { await session.handle(id, method, params, scopes: scopes) }
            }
            group.cancelAll()
        }
    }

    // MARK: methods

    func handle(_ id: String, _ method: String, _ params: JSONValue, scopes: [String]) async {
        let needs: [String: String] = [
            "agent": "operator.write", "agent.wait": "operator.write", "status": "operator.read",
            "sessions.list": "operator.read", "chat.history": "operator.read", "agents.list": "operator.read",
            "chat.send": "operator.write", "chat.abort": "operator.write",
        ]
        guard let scope = needs[method] else {
            if scopes.contains("operator.admin") {
                await fail(id, "INVALID_REQUEST", "unknown method: \(method)")
            } else {
                await fail(id, "FORBIDDEN", "missing scope: operator.admin", details: ["code": "MISSING_SCOPE"])
            }
            return
        }
        guard scopes.contains(scope) || scopes.contains("operator.admin") else {
            await fail(id, "FORBIDDEN", "missing scope: \(scope)", details: ["code": "MISSING_SCOPE"])
            return
        }
        switch method {
        case "agent": await agent(id, params, admin: scopes.contains("operator.admin"))
        case "agent.wait": await wait(id, params)
        case "chat.send": await chatSend(id, params)
        case "chat.abort": await chatAbort(id, params)
        case "status":
            let runs = gateway.state.withLock { $0.runs.count }
            await send(.response(id: id, result: .success(["ok": true, "runs": .number(Double(runs))])))
        case "agents.list":
            let agents = gateway.roster.map { id -> JSONValue in ["id": .string(id)] }
            await send(
                .response(
                    id: id,
                    result: .success([
                        "defaultId": .string(gateway.roster.first ?? "main"), "mainKey": "main", "scope": "per-sender",
                        "agents": .array(agents),
                    ])))
        case "sessions.list":
            let sessions = gateway.state.withLock { state in
                state.sessions.sorted { $0.key < $1.key }.map { key, session -> JSONValue in
                    [
                        "key": .string(key), "label": session.label.map { .string($0) } ?? .null,
                        "updatedAt": .number(Double(session.updatedAt)),
                    ]
                }
            }
            await send(.response(id: id, result: .success(["sessions": .array(sessions)])))
        default:  // chat.history {sessionKey, limit}
            let key = params["sessionKey"]?.string ?? ""
            let limit = params["limit"]?.int ?? 200
            let messages = gateway.state.withLock { $0.sessions[key]?.messages ?? [] }
            await send(
                .response(
                    id: id,
                    result: .success([
                        "sessionKey": .string(key), "messages": .array(Array(messages.suffix(max(0, limit)))),
                    ])))
        }
    }

    static let agentFields: Set<String> = [
        "message", "agentId", "sessionKey", "label", "timeout", "deliver", "idempotencyKey", "extraSystemPrompt",
        "thinking", "channel", "to", "lane", "provider", "model", "attachments",
    ]
    /// The model a run uses when the request names none.
    static let defaultModel = (provider: "sandbox", model: "echo-1")

    func agent(_ id: String, _ params: JSONValue, admin: Bool) async {
        guard let object = params.object else { return await fail(id, "INVALID_REQUEST", "params must be an object") }
        if let unknown = object.keys.first(where: { !Self.agentFields.contains($0) }) {
            return await fail(id, "INVALID_REQUEST", "invalid agent params: unknown field: \(unknown)")
        }
        guard let message = object["message"]?.string, !message.isEmpty,
            let key = object["idempotencyKey"]?.string, !key.isEmpty
        else {
            return await fail(id, "INVALID_REQUEST", "invalid agent params: message and idempotencyKey are required")
        }
        if object["provider"] != nil || object["model"] != nil, !admin {
            return await fail(
                id, "FORBIDDEN", "missing scope: operator.admin (model and provider overrides)",
                details: ["code": "MISSING_SCOPE"])
        }
        if let thinking = object["thinking"], thinking.string == nil {
            return await fail(id, "INVALID_REQUEST", "invalid agent params: thinking must be a string")
        }
        if let agents = gateway.configuration.agents, let agent = object["agentId"]?.string, !agents.contains(agent) {
            return await fail(id, "INVALID_REQUEST", "unknown agent id \"\(agent)\"")
        }
        let sessionKey = object["sessionKey"]?.string ?? "agent:main:\(key)"
        guard sessionKey.hasPrefix("agent:"),
            !["subagent:", "cron:", "acp:"].contains(where: { sessionKey.dropFirst(6).contains($0) })
        else { return await fail(id, "INVALID_REQUEST", "invalid agent params: sessionKey must be agent:<id>:<rest>") }
        if let timeout = object["timeout"], (timeout.number ?? -1) < 0 {
            return await fail(id, "INVALID_REQUEST", "invalid agent params: timeout must be a non-negative number")
        }
        let window = gateway.configuration.idempotencyWindow
        let (existing, faults) = gateway.state.withLock { state -> (SandboxGateway.Run?, SandboxGateway.Faults) in
            if let run = state.runs[key], let ended = run.endedInstant, ContinuousClock.now - ended > window {
                state.runs[key] = nil
            }
            return (state.runs[key], state.faults)
        }
        if let existing {
            if let final = existing.final { return await send(.response(id: id, result: final)) }
            return await send(
                .response(
                    id: id,
                    result: .success([
                        "runId": .string(key), "status": "in_flight", "sessionKey": .string(existing.sessionKey),
                    ])))
        }
        let acceptedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let started = gateway.state.withLock { state -> Bool in
            guard state.runs[key] == nil else { return false }
            state.runs[key] = SandboxGateway.Run(
                runID: key, sessionKey: sessionKey, label: object["label"]?.string, acceptedAt: acceptedAt)
            var session = state.sessions[sessionKey] ?? SandboxGateway.Session(label: nil, updatedAt: acceptedAt)
            session.label = object["label"]?.string ?? session.label
            session.updatedAt = acceptedAt
            session.messages.append(["role": "user", "content": [["type": "text", "text": .string(message)]]])
            state.sessions[sessionKey] = session
            state.snapshot.runsStarted += 1
            state.snapshot.runsByKey[key, default: 0] += 1
            state.snapshot.lastRunMessage = message
            state.snapshot.lastExtraSystemPrompt = object["extraSystemPrompt"]?.string
            state.snapshot.lastRunModel = object["model"]?.string.map { (object["provider"]?.string ?? "") + "/" + $0 }
            state.snapshot.lastRunThinking = object["thinking"]?.string
            return true
        }
        guard started else { return await agent(id, params, admin: admin) }
        // A slow gateway has the run (and its key) from the moment the request arrives; only its answer waits.
        if faults.slowAcceptMs > 0 { try? await Task.sleep(for: .milliseconds(faults.slowAcceptMs)) }
        await send(
            .response(
                id: id,
                result: .success([
                    "runId": .string(key), "status": "accepted", "acceptedAt": .number(Double(acceptedAt)),
                    "sessionKey": .string(sessionKey),
                ])))
        await broadcast(agentEvent(key, sessionKey, phase: "start"))
        await LifecycleHook.send("new", sessionKey: sessionKey, runID: key, gateway: gateway)
        if faults.dropMidRun { await gateway.dropConnections() }
        // The run works for its duration (or the held one), unless `chat.abort` stops it.
        let duration = faults.holdRunsMs > 0 ? .milliseconds(faults.holdRunsMs) : gateway.configuration.runDuration
        // One sleep, which `chat.abort` cancels (no polling: a benchmark holds thousands of runs at once).
        let working = Task { try await Task.sleep(for: duration) }
        let abortedAlready = gateway.state.withLock { state -> Bool in
            state.runs[key]?.working = working
            return state.runs[key]?.aborted == true
        }
        if abortedAlready { working.cancel() }
        _ = await working.result
        if gateway.state.withLock({ $0.runs[key]?.aborted == true }) {
            return await endAborted(id, key: key, sessionKey: sessionKey)
        }
        let output = "Simulated agent output for run \(key)."
        if !faults.neverCallBack { await SimulatedAgent.callBack(message: message, output: output, gateway: gateway) }
        let used = (
            provider: object["provider"]?.string ?? Self.defaultModel.provider,
            model: object["model"]?.string ?? Self.defaultModel.model
        )
        // Usage as a tokenizer would roughly count it: four characters a token.
        let usage: JSONValue = [
            "input": .number(Double(message.utf8.count / 4)), "output": .number(Double(output.utf8.count / 4)),
            "cacheRead": 0, "cacheWrite": 0,
            "total": .number(Double(message.utf8.count / 4 + output.utf8.count / 4)),
        ]
        let final = Self.final(
            key, status: faults.finalStatus, output: output, startedAt: acceptedAt,
            agentMeta: [
                "sessionId": .string(sessionKey), "provider": .string(used.provider), "model": .string(used.model),
                "usage": usage,
            ])
        gateway.state.withLock { state in
            state.runs[key]?.final = final
            state.runs[key]?.status = faults.finalStatus
            state.runs[key]?.endedAt = Int64(Date().timeIntervalSince1970 * 1000)
            state.runs[key]?.endedInstant = .now
            state.sessions[sessionKey]?.updatedAt = Int64(Date().timeIntervalSince1970 * 1000)
            if faults.finalStatus == "ok" {
                state.sessions[sessionKey]?.messages.append([
                    "role": "assistant", "content": [["type": "text", "text": .string(output)]],
                ])
            }
        }
        await broadcast(agentEvent(key, sessionKey, phase: faults.finalStatus == "ok" ? "end" : "error"))
        await LifecycleHook.send("stop", sessionKey: sessionKey, runID: key, gateway: gateway)
        await send(.response(id: id, result: final))
    }

    /// An aborted run ends as the gateway ends a run stopped early: a `timeout` final whose stop reason says
    /// why, no callback, a `chat` event `aborted`.
    func endAborted(_ id: String, key: String, sessionKey: String) async {
        let final: Result<JSONValue, GatewayErrorShape> = .success([
            "runId": .string(key), "status": "timeout", "summary": "aborted", "stopReason": "aborted",
        ])
        gateway.state.withLock { state in
            state.runs[key]?.final = final
            state.runs[key]?.status = "timeout"
            state.runs[key]?.endedAt = Int64(Date().timeIntervalSince1970 * 1000)
            state.runs[key]?.endedInstant = .now
        }
        await broadcast(
            ("chat", ["runId": .string(key), "sessionKey": .string(sessionKey), "state": "aborted", "seq": 1]))
        await broadcast(agentEvent(key, sessionKey, phase: "error"))
        await send(.response(id: id, result: final))
    }

    static let chatSendFields: Set<String> = ["sessionKey", "message", "idempotencyKey", "thinking", "attachments"]

    /// `chat.send {sessionKey, message, idempotencyKey}`: the message joins the session's transcript and the
    /// agent answers it shortly (a run of its own, `{runId, status: "started"}`). A key seen before is the
    /// same send (`in_flight`, or its run's answer), until the gateway forgets its keys (a restart).
    func chatSend(_ id: String, _ params: JSONValue) async {
        guard let object = params.object else { return await fail(id, "INVALID_REQUEST", "params must be an object") }
        if let unknown = object.keys.first(where: { !Self.chatSendFields.contains($0) }) {
            return await fail(id, "INVALID_REQUEST", "invalid chat.send params: unknown field: \(unknown)")
        }
        guard let sessionKey = object["sessionKey"]?.string, let message = object["message"]?.string,
            !message.isEmpty, let key = object["idempotencyKey"]?.string, !key.isEmpty
        else {
            return await fail(
                id, "INVALID_REQUEST", "invalid chat.send params: sessionKey, message and idempotencyKey are required")
        }
        let fresh = gateway.state.withLock { state -> Bool in
            guard state.chatKeys.insert(key).inserted else { return false }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var session = state.sessions[sessionKey] ?? SandboxGateway.Session(label: nil, updatedAt: now)
            session.updatedAt = now
            session.messages.append(["role": "user", "content": [["type": "text", "text": .string(message)]]])
            state.sessions[sessionKey] = session
            state.snapshot.chatSends.append(message)
            return true
        }
        guard fresh else {
            return await send(.response(id: id, result: .success(["runId": .string(key), "status": "in_flight"])))
        }
        if gateway.state.withLock({ $0.faults.dropOnChatSend }) { return await gateway.dropConnections() }
        await send(.response(id: id, result: .success(["runId": .string(key), "status": "started"])))
        try? await Task.sleep(for: gateway.configuration.runDuration)
        let reply = "Noted: " + message.prefix(80)
        gateway.state.withLock { state in
            state.sessions[sessionKey]?.messages.append([
                "role": "assistant", "content": [["type": "text", "text": .string(reply)]],
            ])
        }
        await broadcast(
            ("chat", ["runId": .string(key), "sessionKey": .string(sessionKey), "state": "final", "seq": 1]))
    }

    /// `chat.abort {sessionKey, runId?}`: stops the session's active run (that one, when named):
    /// `{ok, aborted, runIds}`.
    func chatAbort(_ id: String, _ params: JSONValue) async {
        guard let sessionKey = params["sessionKey"]?.string else {
            return await fail(id, "INVALID_REQUEST", "invalid chat.abort params: sessionKey is required")
        }
        let runID = params["runId"]?.string
        let aborted = gateway.state.withLock { state -> [String] in
            let active = state.runs.values.filter {
                $0.sessionKey == sessionKey && $0.endedAt == nil && (runID == nil || $0.runID == runID)
            }.map(\.runID)
            for key in active {
                state.runs[key]?.aborted = true
                state.runs[key]?.working?.cancel()
            }
            state.snapshot.aborts += active.count
            return active.sorted()
        }
        await send(
            .response(
                id: id,
                result: .success([
                    "ok": true, "aborted": .bool(!aborted.isEmpty), "runIds": .array(aborted.map { .string($0) }),
                ])))
    }

    static func final(
        _ key: String, status: String, output: String, startedAt: Int64, agentMeta: JSONValue = [:]
    ) -> Result<JSONValue, GatewayErrorShape> {
        let duration = Double(Int64(Date().timeIntervalSince1970 * 1000) - startedAt)
        switch status {
        case "error":
            return .failure(
                GatewayErrorShape(
                    code: "UNAVAILABLE", message: "agent run failed",
                    payload: ["runId": .string(key), "status": "error", "summary": "the model provider failed"]))
        case "timeout":
            return .success(["runId": .string(key), "status": "timeout", "summary": "aborted", "stopReason": "timeout"])
        default:
            return .success([
                "runId": .string(key), "status": "ok", "summary": "completed",
                "result": [
                    "payloads": [["text": .string(output)]],
                    "meta": ["durationMs": .number(duration), "agentMeta": agentMeta],
                ],
            ])
        }
    }

    func agentEvent(_ runID: String, _ sessionKey: String, phase: String) -> (String, JSONValue) {
        (
            "agent",
            [
                "runId": .string(runID), "sessionKey": .string(sessionKey), "seq": 1, "stream": "lifecycle",
                "ts": .number(Date().timeIntervalSince1970 * 1000), "data": ["phase": .string(phase)],
            ]
        )
    }

    func broadcast(_ event: (String, JSONValue)) async {
        let connections = gateway.state.withLock { Array($0.connections.values) }
        let seq = gateway.nextSeq()
        for connection in connections {
            try? await connection.write(.text(GatewayFrame.event(name: event.0, payload: event.1, seq: seq).text))
        }
    }

    func wait(_ id: String, _ params: JSONValue) async {
        guard let runID = params["runId"]?.string else {
            return await fail(id, "INVALID_REQUEST", "invalid agent.wait params: runId is required")
        }
        let timeout = Duration.milliseconds(params["timeoutMs"]?.int ?? 30_000)
        let deadline = ContinuousClock.now + timeout
        while true {
            let run = gateway.state.withLock { $0.runs[runID] }
            guard let run else {
                return await fail(id, "AGENT_RESULT_NOT_FOUND", "no run \(runID)")
            }
            if let ended = run.endedAt {
                var answer: [String: JSONValue] = [
                    "runId": .string(runID), "status": .string(run.status == "ok" ? "ok" : run.status),
                    "startedAt": .number(Double(run.acceptedAt)), "endedAt": .number(Double(ended)),
                ]
                if run.status == "error" { answer["error"] = "the model provider failed" }
                return await send(.response(id: id, result: .success(.object(answer))))
            }
            if ContinuousClock.now >= deadline {
                return await send(.response(id: id, result: .success(["runId": .string(runID), "status": "timeout"])))
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The simulated agent: reads the callback URL, token and task id from its prompt and posts its result there,
/// as the agent's tool would.
enum SimulatedAgent {
    static func field(_ name: String, in message: String) -> String? {
        for line in message.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(name + ":") {
                return String(trimmed.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func callBack(message: String, output: String, gateway: SandboxGateway) async {
        guard let url = field("Callback URL", in: message), let token = field("Callback token", in: message),
            let task = field("Task id", in: message).flatMap(Int64.init)
        else {
            gateway.logger.warning("the simulated agent found no callback in its prompt")
            return
        }
        let body = try? JSONSerialization.data(
            withJSONObject: ["taskId": task, "status": "completed", "output": output], options: [.sortedKeys])
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: body.map(Array.init), timeout: .seconds(10))
        let response = try? await Blocking.run { try CurlClient.perform(request) }
        let ok = response.map { (200..<300).contains($0.status) } ?? false
        gateway.state.withLock { state in
            if ok { state.snapshot.callbacks += 1 } else { state.snapshot.callbackFailures += 1 }
        }
    }
}

/// The gateway-side lifecycle hook ("bullpen-sync"): posts `{type, action, sessionKey, timestamp, context}` to
/// Bullpen, signed in its `X-Bullpen-Signature` scheme. Like the real hook, it never forwards the gateway's
/// configuration.
enum LifecycleHook {
    static func send(_ action: String, sessionKey: String, runID: String, gateway: SandboxGateway) async {
        guard let url = gateway.configuration.hookURL, let secret = gateway.configuration.hookSecret else { return }
        let body = Array(
            ((try? JSONSerialization.data(
                withJSONObject: [
                    "type": "command", "action": action, "sessionKey": sessionKey,
                    "timestamp": ISO8601DateFormatter().string(from: Date()), "context": ["runId": runID],
                ], options: [.sortedKeys])) ?? Data()))
        let request = HTTPClientRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/json"),
                ("X-Bullpen-Signature", SandboxSigning.header(body: body, secret: secret)),
            ],
            body: body, timeout: .seconds(5))
        let ok = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let response = try? CurlClient.perform(request)
                continuation.resume(returning: response.map { (200..<300).contains($0.status) } ?? false)
            }
        }
        if ok { gateway.state.withLock { $0.snapshot.hooksSent += 1 } }
    }
}

import Foundation
import OpenClaw

/// What the gateway says became of a run, asked before an attempt is declared lost: `agent.wait` with the run
/// id, then, for a run that ended ok (or one the gateway no longer remembers: its run memory is lost on a
/// restart, its sessions are not), the run's reply from `chat.history` of its session. Only a run the gateway
/// does not know, whose session holds no reply to it, is lost.
public struct RunWitness: Sendable {
    /// The gateway's word.
    public enum Verdict: Sendable, Equatable {
        /// Still running (or the wait ran out): ask again later.
        case running
        /// It ended: ok with its reply, or in error or timeout.
        case ended(RunFinal)
        /// The gateway does not know it, and its session holds no reply to it.
        case lost
        /// The gateway could not be asked.
        case unreachable(String)
    }

    let client: GatewayClient

    public init(client: GatewayClient) { self.client = client }

    public func verdict(runID: String, sessionKey: String?) async -> Verdict {
        do {
            let answer = try await client.request(
                "agent.wait", ["runId": .string(runID), "timeoutMs": 1000], timeout: .seconds(10))
            guard answer["endedAt"] != nil, let status = answer["status"]?.string else { return .running }
            guard status == "ok" else {
                return .ended(RunFinal(runID: runID, status: status, text: nil, summary: answer["error"]?.string))
            }
            if let key = sessionKey, let text = try await reply(runID: runID, sessionKey: key) {
                return .ended(RunFinal(runID: runID, status: "ok", text: text, summary: nil))
            }
            return .ended(
                RunFinal(
                    runID: runID, status: "error", text: nil,
                    summary: "the run ended ok, but neither its callback nor its reply could be read"))
        } catch .refused {
            // AGENT_RESULT_NOT_FOUND: forgotten (a restart, or past its memory); the session may still hold it.
            guard let key = sessionKey else { return .lost }
            do {
                guard let text = try await reply(runID: runID, sessionKey: key) else { return .lost }
                return .ended(RunFinal(runID: runID, status: "ok", text: text, summary: nil))
            } catch { return .unreachable("\(error)") }
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// The agent's reply to the run's prompt in the session's transcript, if there is one.
    func reply(runID: String, sessionKey: String) async throws(GatewayError) -> String? {
        let history = try await client.request(
            "chat.history", ["sessionKey": .string(sessionKey), "limit": 50], timeout: .seconds(10))
        let messages = (history["messages"]?.array ?? []).map { message in
            (
                role: message["role"]?.string ?? "",
                text: (message["content"]?.array ?? []).compactMap { $0["text"]?.string }.joined(separator: "\n\n")
                    + (message["content"]?.string ?? "")
            )
        }
        return Self.reply(toRun: runID, in: messages)
    }

    /// In a transcript, the first assistant message after the last prompt that names the run (`Run id: <id>`),
    /// before the next prompt; nil when the run's prompt is not there or got no reply.
    static func reply(toRun runID: String, in messages: [(role: String, text: String)]) -> String? {
        guard
            let prompt = messages.lastIndex(where: {
                $0.role == "user" && $0.text.split(separator: "\n").contains { $0.hasSuffix("Run id: \(runID)") }
            })
        else { return nil }
        for message in messages[(prompt + 1)...] {
            if message.role == "user" { return nil }
            if message.role == "assistant", !message.text.isEmpty { return message.text }
        }
        return nil
    }
}

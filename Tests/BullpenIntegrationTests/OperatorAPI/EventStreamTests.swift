import BullpenStore
import Foundation
import HTTPTypes
import Testing

/// `GET /v1/events/stream`: Server-Sent Events fed by LISTEN/NOTIFY, resumable, filtered by token.
@Suite("Operator API: live events")
final class EventStreamTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("events", eventHeartbeat: .milliseconds(300)) }
    deinit { fixture.tearDown() }

    /// Reads the stream for `seconds`, as a raw HTTP client would, and returns the SSE text after the head.
    static func stream(port: Int, token: String, lastEventID: Int64?, seconds: Double) async throws -> String {
        let resume = lastEventID.map { "Last-Event-ID: \($0)\r\n" } ?? ""
        let exchange = try await RawHTTP.send(
            "GET /v1/events/stream HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(token)\r\n\(resume)\r\n",
            port: port,
            timeout: .milliseconds(Int64(seconds * 1000)))
        #expect(exchange.status == 200, "\(exchange.response.prefix(300))")
        #expect(exchange.response.lowercased().contains("content-type: text/event-stream"))
        return exchange.body
    }

    /// The `(id, event)` pairs of the frames in a stream's text.
    static func frames(_ text: String) -> [(id: Int64, type: String)] {
        var frames: [(Int64, String)] = []
        var id: Int64?
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
            if line.hasPrefix("event: "), let current = id { frames.append((current, String(line.dropFirst(7)))) }
        }
        return frames
    }

    @Test("events that happen while connected arrive; a reconnect with Last-Event-ID gets what came in between")
    func liveAndResumed() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let first = try await api.create("/v1/clients", #"{"name": "S", "email": "s@example.test"}"#, "clientId")
            // Connected from the start: the stream replays from 0, then shows the project made meanwhile.
            async let live = Self.stream(port: port, token: self.fixture.operatorToken, lastEventID: 0, seconds: 5)
            try await Task.sleep(for: .milliseconds(500))
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(first), "name": "P", "type": "content", "tier": "pro"}"#, "projectId")
            let text = try await live
            let seen = Self.frames(text)
            #expect(seen.map(\.type) == ["client.created", "project.created"])
            #expect(text.contains(": heartbeat"))
            // Disconnected: a task is created; the reconnect with the last id seen gets it, and only it.
            _ = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "T"}"#, "taskId")
            let resumed = Self.frames(
                try await Self.stream(
                    port: port, token: self.fixture.operatorToken, lastEventID: seen.last?.id, seconds: 2))
            #expect(resumed.map(\.type) == ["task.created"])
            #expect(resumed.first?.id ?? 0 > seen.last?.id ?? 0)
        }
    }

    @Test("a client token's stream carries its own client's events only")
    func tenancy() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let mine = try await api.create("/v1/clients", #"{"name": "A", "email": "a@example.test"}"#, "clientId")
            _ = try await api.create("/v1/clients", #"{"name": "B", "email": "b@example.test"}"#, "clientId")
            let token = try ApiTokens.create(name: "a", role: .client, clientID: mine, on: self.fixture.stack.db)
            let text = try await Self.stream(port: port, token: token.secret, lastEventID: 0, seconds: 2)
            #expect(Self.frames(text).count == 1)
            #expect(text.contains("\"clientId\": \(mine)"))
        }
    }
}

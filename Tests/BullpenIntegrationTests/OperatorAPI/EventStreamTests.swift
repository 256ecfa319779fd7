import BullpenStore
import Foundation
import HTTPTypes
import PostgreSQL
import Testing

/// `GET /v1/events/stream` and `GET /v1/events`: Server-Sent Events fed by LISTEN/NOTIFY, in feed order
/// (never skipping an event whose transaction committed late), resumable with an opaque cursor, shaped for
/// the token's audience, and ended when the token is revoked.
@Suite("Operator API: live events", .serialized)
final class EventStreamTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture

    init() throws { fixture = try OperatorAPIFixture("events", eventHeartbeat: .milliseconds(300)) }
    deinit { fixture.tearDown() }

    /// Reads the stream for `seconds` (or until the server ends it), as a raw HTTP client would.
    static func stream(
        port: Int, token: String, lastEventID: String?, seconds: Double
    ) async throws -> RawHTTP.Exchange {
        let resume = lastEventID.map { "Last-Event-ID: \($0)\r\n" } ?? ""
        let exchange = try await RawHTTP.send(
            "GET /v1/events/stream HTTP/1.1\r\nHost: test\r\nConnection: close\r\nAuthorization: Bearer \(token)\r\n\(resume)\r\n",
            port: port,
            timeout: .milliseconds(Int64(seconds * 1000)))
        #expect(exchange.status == 200, "\(exchange.response.prefix(300))")
        #expect(exchange.response.lowercased().contains("content-type: text/event-stream"))
        return exchange
    }

    struct Frame {
        let cursor: String
        let type: String
        let data: [String: Any]
    }

    /// The frames of a stream's text (chunk-size lines of the chunked encoding are neither `id:` nor `event:`).
    static func frames(_ text: String) -> [Frame] {
        var frames: [Frame] = []
        var (cursor, type): (String?, String?) = (nil, nil)
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("id: ") { cursor = String(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
            if line.hasPrefix("data: "), let cursor, let type {
                let data = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any]
                frames.append(Frame(cursor: cursor, type: type, data: data ?? [:]))
            }
        }
        return frames
    }

    @Test("events that happen while connected arrive; a reconnect with Last-Event-ID gets what came in between")
    func liveAndResumed() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let first = try await api.create("/v1/clients", #"{"name": "S", "email": "s@example.test"}"#, "clientId")
            // Connected from the start: the stream replays from 0, then shows the project made meanwhile.
            async let live = Self.stream(port: port, token: self.fixture.operatorToken, lastEventID: "0", seconds: 5)
            try await Task.sleep(for: .milliseconds(500))
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(first), "name": "P", "type": "content", "tier": "pro"}"#, "projectId")
            let text = try await live.body
            let seen = Self.frames(text)
            #expect(seen.map(\.type) == ["client.created", "project.created"])
            #expect(seen.allSatisfy { $0.data["cursor"] as? String == $0.cursor })
            #expect(text.contains(": heartbeat"))
            // Disconnected: a task is created; the reconnect with the last cursor seen gets it, and only it.
            _ = try await api.create("/v1/tasks", #"{"projectId": \#(project), "title": "T"}"#, "taskId")
            let resumed = Self.frames(
                try await Self.stream(
                    port: port, token: self.fixture.operatorToken, lastEventID: seen.last?.cursor, seconds: 2
                ).body)
            #expect(resumed.map(\.type) == ["task.created"])
            // A cursor this API did not make is refused, saying why.
            let forged = try await api.request(.get, "/v1/events/stream", headers: ["Last-Event-ID": "57"])
            #expect(forged.status == .badRequest && forged.code == "invalid_header", "\(forged.json)")
        }
    }

    @Test(
        "a client's stream and list carry its own client's events of the types it may see, with opaque cursors and no ids, operators' words or data"
    )
    func tenancy() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let mine = try await api.create("/v1/clients", #"{"name": "A", "email": "a@example.test"}"#, "clientId")
            let theirs = try await api.create("/v1/clients", #"{"name": "B", "email": "b@example.test"}"#, "clientId")
            let project = try await api.create(
                "/v1/projects", #"{"clientId": \#(mine), "name": "P", "type": "content", "tier": "pro"}"#, "projectId")
            _ = try await api.create(
                "/v1/projects", #"{"clientId": \#(theirs), "name": "Q", "type": "content", "tier": "pro"}"#,
                "projectId")
            // Events only operators see, on the client's own project: a version awaiting review, an agent's
            // quality failure with the reviewer's internal notes.
            try self.fixture.stack.db.transaction { tx in
                for (type, message) in [
                    ("deliverable.review", "Deliverable 9 awaits review"),
                    ("agent.quality_failure", "Agent writer-1 failed review: sloppy, internal note"),
                ] {
                    try EventLog.record(
                        type, message, data: #"{"notes": "internal"}"#, about: .init(projectID: project),
                        messageID: nil, in: tx)
                }
            }
            let token = try ApiTokens.create(name: "a", role: .client, clientID: mine, on: self.fixture.stack.db)
            let streamed = Self.frames(
                try await Self.stream(port: port, token: token.secret, lastEventID: "0", seconds: 2).body)
            #expect(streamed.map(\.type) == ["client.created", "project.created"])
            let listed = try await api.with(token: token.secret).get("/v1/events?after=0")
            #expect(listed.status == .ok)
            #expect(listed.data.map { $0["type"] as? String } == ["client.created", "project.created"])
            for event in streamed.map(\.data) + listed.data {
                #expect(
                    Set(event.keys).isSubset(of: [
                        "cursor", "type", "message", "occurredAt", "projectId", "taskId", "deliverableId",
                    ]),
                    "\(event)")
                #expect(event["id"] == nil && event["data"] == nil && event["clientId"] == nil)
            }
            #expect(listed.data.first?["message"] as? String == "Your account was opened")
            // Cursors are the audience's own: a client's cursor means nothing to an operator, or to another client.
            let cursor = try #require(listed.data.last?["cursor"] as? String)
            #expect(try await api.get("/v1/events?after=\(cursor)").code == "invalid_query")
            let theirToken = try ApiTokens.create(name: "b", role: .client, clientID: theirs, on: self.fixture.stack.db)
            #expect(
                try await api.with(token: theirToken.secret).get("/v1/events?after=\(cursor)").code == "invalid_query")
            // The operator sees everything, ids and all.
            let all = try await api.get("/v1/events?after=0").data
            #expect(all.count == 6 && all.allSatisfy { $0["id"] != nil && $0["cursor"] != nil })
        }
    }

    @Test("an open stream ends within seconds of its token being revoked, and a reconnect is refused")
    func revokedEndsStream() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let token = try ApiTokens.create(name: "watcher", role: .operator, on: self.fixture.stack.db)
            async let watched = Self.stream(port: port, token: token.secret, lastEventID: nil, seconds: 12)
            try await Task.sleep(for: .milliseconds(500))
            let revokedAt = ContinuousClock.now
            #expect(try ApiTokens.revoke(id: token.token.id, on: self.fixture.stack.db))
            let exchange = try await watched
            #expect(exchange.closedByServer, "the stream ended by itself")
            #expect(exchange.body.contains("the API token was revoked"))
            #expect(ContinuousClock.now - revokedAt < .seconds(6), "within a few seconds")
            #expect(
                try await api.with(token: token.secret).request(.get, "/v1/events/stream").status == .unauthorized)
        }
    }

    @Test(
        "transactions that commit out of id order: a reader never skips the earlier id, whether it read before or after"
    )
    func commitOrder() async throws {
        try await fixture.run(.live) { api in
            let configuration = self.fixture.stack.database.configuration
            let (early, late) = (try PGConnection(configuration), try PGConnection(configuration))
            defer {
                early.close()
                late.close()
            }
            let before = try await api.get("/v1/events?after=0").data.count
            _ = try early.query("BEGIN")
            try EventLog.record("test.early", "took the lower id", about: .init(), messageID: nil, in: early)
            _ = try late.query("BEGIN")
            try EventLog.record("test.late", "took the higher id", about: .init(), messageID: nil, in: late)
            _ = try late.query("COMMIT")
            // The higher id is committed, the lower still in flight: the feed holds both back.
            let meanwhile = try await api.get("/v1/events?after=0").data
            #expect(meanwhile.count == before, "\(meanwhile.map { $0["type"] ?? "" })")
            let cursor = (meanwhile.last?["cursor"] as? String) ?? "0"
            _ = try early.query("COMMIT")
            let after = try await api.get("/v1/events?after=\(cursor)").data
            #expect(after.map { $0["type"] as? String } == ["test.early", "test.late"])
        }
    }

    @Test(
        "many concurrent writers, several tailing readers (one resuming with Last-Event-ID midway): every reader sees every event exactly once"
    )
    func concurrentWriters() async throws {
        try await fixture.run(.live) { api in
            let port = try #require(api.client.port)
            let token = self.fixture.operatorToken
            let configuration = self.fixture.stack.database.configuration
            let (writers, transactions) = (6, 30)
            let start = try await api.get("/v1/events?after=0&limit=200").data.last?["cursor"] as? String ?? "0"
            async let readerA = Self.stream(port: port, token: token, lastEventID: start, seconds: 9)
            async let readerB = Self.stream(port: port, token: token, lastEventID: start, seconds: 9)
            // Reader C stops after 2 s and resumes from its last cursor.
            async let firstHalf = Self.stream(port: port, token: token, lastEventID: start, seconds: 2)
            try await Task.sleep(for: .milliseconds(300))
            // Each writer's transactions write two events with a pause between them, so ids interleave across
            // transactions and commits come out of id order.
            let written = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        try await Task.detached {
                            let db = try PGConnection(configuration)
                            defer { db.close() }
                            for n in 0..<transactions {
                                try db.transaction { tx in
                                    try EventLog.record(
                                        "test.write", "writer \(writer) transaction \(n) a", about: .init(),
                                        messageID: nil, in: tx)
                                    usleep(UInt32.random(in: 0...25_000))
                                    try EventLog.record(
                                        "test.write", "writer \(writer) transaction \(n) b", about: .init(),
                                        messageID: nil, in: tx)
                                }
                            }
                            return transactions * 2
                        }.value
                    }
                }
                return try await group.reduce(0, +)
            }
            let half = Self.frames(try await firstHalf.body)
            let rest = Self.frames(
                try await Self.stream(port: port, token: token, lastEventID: half.last?.cursor ?? start, seconds: 5)
                    .body)
            let expected = Set(
                try self.fixture.stack.db.query("SELECT id FROM events WHERE type = 'test.write'").rows.map {
                    try $0.decode("id", as: Int64.self)
                })
            #expect(expected.count == written)
            let (framesA, framesB) = (Self.frames(try await readerA.body), Self.frames(try await readerB.body))
            for (name, frames) in [("A", framesA), ("B", framesB), ("C", half + rest)] {
                let ids = frames.filter { $0.type == "test.write" }.compactMap {
                    ($0.data["id"] as? NSNumber)?.int64Value
                }
                #expect(ids.count == written, "reader \(name) saw \(ids.count) of \(written)")
                #expect(Set(ids) == expected, "reader \(name): every event")
                #expect(Set(ids).count == ids.count, "reader \(name): none twice")
            }
            // A list paged through from the same start sees the same, in the same order as the streams.
            var cursor = start
            var paged: [Int64] = []
            while true {
                let page = try await api.get("/v1/events?after=\(cursor)&limit=37")
                paged += page.data.filter { $0["type"] as? String == "test.write" }.compactMap {
                    ($0["id"] as? NSNumber)?.int64Value
                }
                guard let next = page.json["nextCursor"] as? String else { break }
                cursor = next
            }
            #expect(
                paged
                    == framesA.filter { $0.type == "test.write" }.compactMap {
                        ($0.data["id"] as? NSNumber)?.int64Value
                    })
        }
    }
}

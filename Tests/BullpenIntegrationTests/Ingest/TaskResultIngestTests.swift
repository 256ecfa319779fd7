import AMQP
import BullpenIngest
import BullpenMessaging
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /webhooks/agents/task-result` on the real broker and database.
@Suite("Ingest: task results")
final class TaskResultIngestTests: @unchecked Sendable {
    let fixture: StackFixture

    init() throws { fixture = try StackFixture("ingest") }
    deinit { fixture.tearDown() }

    /// Posts a task result through the ingest application, its publisher and look-ups running as its services.
    func post(
        _ server: IngestServer, token: String?, body: String, contentType: String? = "application/json",
        waitForBroker: Bool = true, test: @escaping @Sendable (TestResponse) async throws -> Void
    ) async throws {
        try await server.application().test(.router) { client in
            if waitForBroker { try await Self.connected(server.publisher) }
            var headers: HTTPFields = [:]
            if let contentType { headers[.contentType] = contentType }
            if let token { headers[.authorization] = "Bearer \(token)" }
            try await client.execute(
                uri: "/webhooks/agents/task-result", method: .post, headers: headers, body: ByteBuffer(string: body),
                testCallback: test)
        }
    }

    /// Waits (up to 10 s) for the publisher to hold a broker connection.
    static func connected(_ publisher: ConfirmingPublisher) async throws {
        for _ in 0..<200 where !publisher.isConnected { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Posts a request that must be refused: returns its status and its error object (`code`, `message`,
    /// `field`), and checks that nothing reached the review queue.
    func refusal(
        token: String?, body: String, contentType: String? = "application/json"
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        let answer = Answer()
        try await post(try fixture.ingest(), token: token, body: body, contentType: contentType) { response in
            answer.set(response.status, try Self.error(response))
        }
        #expect(try fixture.reviewDepth() == 0, "a refused request published a message")
        return (answer.status, answer.body)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
    }

    /// The error object of an error answer: `{"error": {"code": ..., "message": ..., "field": ...}}`.
    static func error(_ response: TestResponse) throws -> [String: Any] {
        try json(response)["error"] as? [String: Any] ?? [:]
    }

    @Test("the slice end to end: 202 after the confirm, then the worker completes the task")
    func endToEnd() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let consumer = try fixture.consumer()
        consumer.start()
        defer { consumer.stop() }
        try await post(
            try fixture.ingest(), token: token, body: #"{"taskId": \#(task), "status": "completed", "output": "Done."}"#
        ) { response in
            #expect(response.status == .accepted)
            let body = try Self.json(response)
            #expect(body["messageId"] as? String == "task-result:\(task):1")
        }
        #expect(try eventually { try fixture.taskStatus(task) == "completed" })
        let result: String = try #require(try fixture.db.query("SELECT result FROM tasks WHERE id = $1", [task]).first)
            .decode("result")
        #expect(result == "Done.")
        #expect(
            try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.completed'", [task]) == 1
        )
        #expect(try fixture.count("SELECT count(*) FROM deliverables WHERE task_id = $1", [task]) == 1)
    }

    @Test("a missing token is 401 and nothing is published")
    func missingToken() async throws {
        let (task, _) = try fixture.seedRunningTask()
        let answer = try await refusal(token: nil, body: #"{"taskId": \#(task), "status": "completed", "output": "x"}"#)
        #expect(answer.status == .unauthorized)
        #expect((answer.body["message"] as? String)?.contains("Bearer") == true)
        #expect(answer.body["code"] as? String == "unauthorized")
    }

    @Test("a wrong token is 401 and nothing is published")
    func wrongToken() async throws {
        let (task, _) = try fixture.seedRunningTask()
        let answer = try await refusal(
            token: "not-the-token", body: #"{"taskId": \#(task), "status": "completed", "output": "x"}"#)
        #expect(answer.status == .unauthorized)
        #expect(answer.body["message"] as? String == "unknown or expired callback token")
    }

    @Test("a token of an attempt closed without a result (superseded) is 401")
    func closedAttempt() async throws {
        let (task, token) = try fixture.seedRunningTask()
        try fixture.db.query(
            "UPDATE task_attempts SET closed_at = now(), outcome = 'superseded' WHERE task_id = $1", [task])
        let answer = try await refusal(
            token: token, body: #"{"taskId": \#(task), "status": "completed", "output": "x"}"#)
        #expect(answer.status == .unauthorized)
    }

    @Test("a token for another task is 403 and nothing is published")
    func otherTask() async throws {
        let (_, token) = try fixture.seedRunningTask()
        let (other, _) = try fixture.seedRunningTask()
        let answer = try await refusal(
            token: token, body: #"{"taskId": \#(other), "status": "completed", "output": "x"}"#)
        #expect(answer.status == .forbidden)
    }

    @Test("a malformed body is 400 naming the field, and nothing is published")
    func malformed() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let wrongStatus = try await refusal(
            token: token, body: #"{"taskId": \#(task), "status": "finished", "output": "x"}"#)
        #expect(wrongStatus.status == .badRequest)
        #expect(wrongStatus.body["field"] as? String == "status")
        #expect((wrongStatus.body["message"] as? String)?.hasPrefix("status must be") == true)
        #expect(wrongStatus.body["code"] as? String == "invalid_field")
        let notJSON = try await refusal(token: token, body: "{oops")
        #expect(notJSON.status == .badRequest)
        #expect(notJSON.body["message"] as? String == "the body is not valid JSON")
        #expect(notJSON.body["code"] as? String == "invalid_body")
    }

    @Test("an oversized body is 413")
    func oversized() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let big = String(repeating: "x", count: 2 << 20)
        let answer = try await refusal(
            token: token, body: #"{"taskId": \#(task), "status": "completed", "output": "\#(big)"}"#)
        #expect(answer.status == .contentTooLarge)
    }

    @Test("with the broker unreachable the answer is 503, so the agent retries")
    func brokerDown() async throws {
        let (task, token) = try fixture.seedRunningTask()
        var amqp = try TestEnvironment.amqp()
        amqp.port = 1
        try await post(
            try fixture.ingest(amqp: amqp), token: token,
            body: #"{"taskId": \#(task), "status": "completed", "output": "x"}"#,
            waitForBroker: false
        ) { response in
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "5")
            let error = try Self.error(response)
            #expect(error["code"] as? String == "broker_unavailable")
        }
        #expect(try fixture.taskStatus(task) == "running")
    }

    @Test("an output with a NUL character is 400 naming the field; nothing is published or stored cut short")
    func nulCharacter() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let answer = try await refusal(
            token: token, body: #"{"taskId": \#(task), "status": "completed", "output": "before\u0000after"}"#)
        #expect(answer.status == .badRequest)
        #expect(answer.body["field"] as? String == "output")
        #expect((answer.body["message"] as? String)?.contains("NUL") == true)
        #expect(try fixture.taskStatus(task) == "running")
    }

    @Test("an agent's retry of a result already applied gets the same 202, and nothing is published again")
    func replayOfAppliedResult() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let body = #"{"taskId": \#(task), "status": "completed", "output": "Done."}"#
        let consumer = try fixture.consumer()
        consumer.start()
        let first = Answer()
        try await post(try fixture.ingest(), token: token, body: body) { response in
            first.set(response.status, try Self.json(response))
        }
        #expect(first.status == .accepted)
        #expect(try eventually { try fixture.taskStatus(task) == "completed" })
        consumer.stop()

        // As if the first answer was lost (or was a 503 after the message got through): the agent retries.
        let again = Answer()
        try await post(try fixture.ingest(), token: token, body: body) { response in
            again.set(response.status, try Self.json(response))
        }
        #expect(again.status == .accepted)
        #expect(again.body["messageId"] as? String == first.body["messageId"] as? String)
        #expect(again.body["accepted"] as? Bool == true)
        #expect(try fixture.reviewDepth() == 0, "the replay published a message")

        // The same token cannot turn the applied result into the other outcome.
        let conflict = try await refusal(
            token: token, body: #"{"taskId": \#(task), "status": "failed", "error": "oops"}"#)
        #expect(conflict.status == .conflict)
        #expect((conflict.body["message"] as? String)?.contains("already reported completed") == true)
        #expect(conflict.body["code"] as? String == "conflict")
        // Nor is the same outcome with another output a replay: it is refused, not dropped in silence.
        let other = try await refusal(
            token: token, body: #"{"taskId": "\#(task)", "status": "completed", "output": "Done, but differently."}"#)
        #expect(other.status == .conflict, "\(other.body)")
        #expect((other.body["message"] as? String)?.contains("another output") == true, "\(other.body)")
        #expect(try fixture.reviewDepth() == 0)
        // The same report, its id written as a string, is still the replay.
        let quoted = try await refusal(
            token: token, body: #"{"taskId": "\#(task)", "status": "completed", "output": "Done."}"#)
        #expect(quoted.status == .accepted)
        #expect(
            try fixture.count("SELECT count(*) FROM events WHERE task_id = $1 AND type = 'task.completed'", [task]) == 1
        )
        #expect(try fixture.count("SELECT count(*) FROM deliverables WHERE task_id = $1", [task]) == 1)
    }

    @Test("a body not declared as JSON is 415, before anything is read or published")
    func notJSON() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let body = #"{"taskId": \#(task), "status": "completed", "output": "x"}"#
        let plain = try await refusal(token: token, body: body, contentType: "text/plain")
        #expect(plain.status == .unsupportedMediaType)
        #expect((plain.body["message"] as? String)?.contains("application/json") == true)
        #expect(plain.body["code"] as? String == "unsupported_media_type")
        let none = try await refusal(token: token, body: body, contentType: nil)
        #expect(none.status == .unsupportedMediaType)
        // Parameters and +json types are JSON.
        try await post(try fixture.ingest(), token: token, body: body, contentType: "application/json; charset=utf-8") {
            response in
            #expect(response.status == .accepted)
        }
    }

    @Test("an unknown path is 404 and a wrong method 405, both with the JSON error shape")
    func routingErrors() async throws {
        try await fixture.ingest().application().test(.router) { client in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                let error = try Self.error(response)
                #expect(error["message"] as? String == "no route for GET /nowhere")
                #expect(error["code"] as? String == "not_found")
            }
            try await client.execute(uri: "/webhooks/agents/task-result", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                let error = try Self.error(response)
                #expect((error["message"] as? String)?.contains("GET is not allowed") == true)
                #expect(error["code"] as? String == "method_not_allowed")
            }
        }
    }

    @Test("malformed and oversized headers, and a body shorter than its Content-Length, get JSON errors")
    func transportErrors() async throws {
        let (task, token) = try fixture.seedRunningTask()
        try await fixture.ingest().application().test(.live) { client in
            let port = try #require(client.port)
            let malformed = try await RawHTTP.send("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", port: port)
            #expect(malformed.status == 400)
            #expect(malformed.body.contains(#""code":"malformed_request""#))
            #expect(malformed.body.contains(#""message":"the request is not valid HTTP/1.1"#))
            #expect(malformed.closedByServer)

            let big = String(repeating: "a", count: 100_000)
            let oversized = try await RawHTTP.send(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n", port: port)
            #expect(oversized.status == 431)
            #expect(oversized.body.contains("the request headers are too large"))
            #expect(oversized.body.contains(#""code":"headers_too_large""#))

            let body = #"{"taskId": \#(task), "status": "completed", "output": "x"}"#
            let short = try await RawHTTP.send(
                "POST /webhooks/agents/task-result HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count + 50)\r\n\r\n\(body)",
                port: port, halfClose: true)
            #expect(short.status == 400)
            #expect(short.body.contains(#""code":"body_incomplete""#))
            #expect(
                short.body.contains(
                    "the body ended before the \(body.utf8.count + 50) bytes its Content-Length announced"))
        }
        #expect(try fixture.reviewDepth() == 0)
    }

    @Test("idle connections and half-sent requests are closed at their deadlines; a stalled body gets 408")
    func timeouts() async throws {
        let (task, token) = try fixture.seedRunningTask()
        let ingest = try fixture.ingest(timeouts: ConnectionTimeouts(idle: .seconds(1), requestRead: .seconds(1)))
        try await ingest.application().test(.live) { client in
            let port = try #require(client.port)
            let idle = try await RawHTTP.send("", port: port, timeout: .seconds(10))
            #expect(idle.closedByServer)
            #expect(idle.response.isEmpty)
            #expect(idle.elapsed >= .milliseconds(900) && idle.elapsed < .seconds(5), "closed after \(idle.elapsed)")

            let halfHead = try await RawHTTP.send(
                "POST /webhooks/agents/task-result HTTP/1.1\r\nHost: x\r\n", port: port)
            #expect(halfHead.closedByServer)
            #expect(halfHead.elapsed < .seconds(5), "closed after \(halfHead.elapsed)")

            let stalled = try await RawHTTP.send(
                "POST /webhooks/agents/task-result HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"taskId\": \(task)", port: port)
            #expect(stalled.status == 408)
            #expect(stalled.body.contains("did not arrive in full within 1 s"))
            #expect(stalled.body.contains(#""code":"request_timeout""#))
            #expect(stalled.closedByServer)
            #expect(stalled.elapsed < .seconds(5), "answered after \(stalled.elapsed)")
        }
        #expect(try fixture.reviewDepth() == 0)
    }

    @Test("health answers without touching the broker")
    func health() async throws {
        let server = try fixture.ingest()
        try await server.application().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

/// Carries an answer out of the test client's callback.
private final class Answer: @unchecked Sendable {
    private(set) var status: HTTPResponse.Status = .ok
    private(set) var body: [String: Any] = [:]

    func set(_ status: HTTPResponse.Status, _ body: [String: Any]) {
        self.status = status
        self.body = body
    }
}

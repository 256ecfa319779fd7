import BullpenIngest
import BullpenMessaging
import BullpenStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A stack for the operator API: schema and topology of its own, an operator token, ingest under test and a
/// consumer on the command queue (the real handlers).
final class OperatorAPIFixture: @unchecked Sendable {
    let stack: StackFixture
    let operatorToken: String
    let server: IngestServer
    let commands: QueueConsumer

    init(
        _ stem: String, rateLimit: RateLimitSettings = .init(), eventHeartbeat: Duration = .seconds(15),
        hookSecrets: [String] = [], s3: IngestConfiguration.S3Settings? = nil, slackSigningSecrets: [String] = [],
        trustedProxies: Set<String> = []
    ) throws {
        stack = try StackFixture(stem)
        operatorToken = try ApiTokens.create(name: "test operator", role: .operator, on: stack.db).secret
        server = try stack.ingest(
            rateLimit: rateLimit, eventHeartbeat: eventHeartbeat, hookSecrets: hookSecrets, s3: s3,
            slackSigningSecrets: slackSigningSecrets, trustedProxies: trustedProxies)
        commands = try stack.consumer(queue: .command)
        commands.start()
    }

    func tearDown() {
        commands.stop()
        stack.tearDown()
    }

    /// Runs `body` with a client of the ingest application (its services running); `.live` serves it on a
    /// loopback port (`client.client.port`).
    func run(_ mode: TestingSetup = .router, _ body: @escaping @Sendable (APIClient) async throws -> Void) async throws
    {
        try await server.application().test(mode) { client in
            try await TaskResultIngestTests.connected(self.server.publisher)
            try await body(APIClient(client: client, token: self.operatorToken))
        }
    }

    func commandQueueDepth() throws -> Int { try stack.broker.depth(stack.topology.workQueue(.command)) }
}

/// Requests to the API under test, as JSON.
struct APIClient: Sendable {
    let client: any TestClientProtocol
    let token: String?

    func with(token: String?) -> APIClient { APIClient(client: client, token: token) }

    struct Answer: @unchecked Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let json: [String: Any]
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
        var code: String? { error["code"] as? String }
        var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
    }

    func request(
        _ method: HTTPRequest.Method, _ uri: String, json body: String? = nil, key: String? = nil,
        contentType: String? = "application/json", signature: String? = nil, headers extra: [String: String] = [:]
    ) async throws -> Answer {
        var headers: HTTPFields = [:]
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        if let signature { headers[HTTPField.Name("X-Bullpen-Signature")!] = signature }
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil, let contentType { headers[.contentType] = contentType }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        let response = try await client.executeRequest(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let object =
            (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
        return Answer(status: response.status, headers: response.headers, json: object)
    }

    func get(_ uri: String) async throws -> Answer { try await request(.get, uri) }

    /// Sends a command, expects 202, and waits (up to 10 s) until a worker applied or rejected it.
    func command(
        _ method: HTTPRequest.Method, _ uri: String, _ body: String, key: String? = nil
    ) async throws
        -> [String: Any]
    {
        let accepted = try await request(method, uri, json: body, key: key)
        #expect(accepted.status == .accepted, "\(method) \(uri): \(accepted.json)")
        let id = try #require(accepted.json["commandId"] as? String)
        return try await settled(id)
    }

    func settled(_ id: String) async throws -> [String: Any] {
        for _ in 0..<200 {
            let command = try await get("/v1/commands/\(id)")
            if command.json["status"] as? String != "accepted" { return command.json }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("command \(id) was not applied within 10 s")
    }

    /// Applies a command and returns the id its result names (`clientId`, `taskId` ...).
    func create(_ uri: String, _ body: String, _ key: String) async throws -> Int64 {
        let command = try await command(.post, uri, body)
        #expect(command["status"] as? String == "applied", "\(command)")
        return try #require(jsonID((command["result"] as? [String: Any])?[key]))
    }
}

/// A JSON number as an id (JSONSerialization gives Int or Int64).
func jsonID(_ value: Any?) -> Int64? { (value as? Int64) ?? (value as? Int).map(Int64.init) }

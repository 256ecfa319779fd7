import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The libcurl client against a local Hummingbird server.
@Suite("HTTP client")
struct CurlClientTests {
    func app() -> some ApplicationProtocol {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            headers[HTTPField.Name("X-Method")!] = request.method.rawValue
            headers[HTTPField.Name("X-Seen-Token")!] = request.headers[.authorization] ?? ""
            return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
        }
        router.put("/echo") { request, _ -> Response in
            Response(status: .ok, headers: [HTTPField.Name("X-Method")!: request.method.rawValue])
        }
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return "late"
        }
        router.get("/missing") { _, _ -> Response in Response(status: .notFound) }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Runs the blocking client off the cooperative pool.
    func perform(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try CurlClient.perform(request) }) }.start()
        }
    }

    @Test("method, headers and body go out; status, headers and body come back")
    func roundTrip() async throws {
        try await app().test(.live) { client in
            let port = try #require(client.port)
            let body: [UInt8] = Array("{\"hello\":\"wörld\"}".utf8) + [0, 1, 2]
            let response = try await perform(
                HTTPClientRequest(
                    method: "POST", url: "http://127.0.0.1:\(port)/echo",
                    headers: [("Authorization", "Bearer abc"), ("Content-Type", "application/json")], body: body))
            #expect(response.status == 201)
            #expect(response.body == body)
            #expect(response.header("x-method") == "POST")
            #expect(response.header("X-SEEN-TOKEN") == "Bearer abc")
            let put = try await perform(
                HTTPClientRequest(method: "PUT", url: "http://127.0.0.1:\(port)/echo", body: []))
            #expect(put.status == 200)
            #expect(put.header("X-Method") == "PUT")
            let missing = try await perform(HTTPClientRequest(url: "http://127.0.0.1:\(port)/missing"))
            #expect(missing.status == 404)
        }
    }

    @Test("the handle is reused across requests on one thread")
    func reuse() async throws {
        try await app().test(.live) { client in
            let port = try #require(client.port)
            let statuses: [Int] = try await withCheckedThrowingContinuation { continuation in
                Thread {
                    continuation.resume(
                        with: Result {
                            try (0..<20).map { _ in
                                try CurlClient.perform(
                                    HTTPClientRequest(method: "POST", url: "http://127.0.0.1:\(port)/echo", body: [1])
                                ).status
                            }
                        })
                }.start()
            }
            #expect(statuses == Array(repeating: 201, count: 20))
        }
    }

    @Test("a slow server hits the timeout")
    func timeout() async throws {
        try await app().test(.live) { client in
            let port = try #require(client.port)
            let started = ContinuousClock.now
            do {
                _ = try await perform(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow", timeout: .milliseconds(300)))
                Issue.record("no timeout")
            } catch let error as HTTPClientError {
                #expect(error.kind == .timeout)
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test("a closed port is a connect error")
    func refused() async throws {
        do {
            _ = try await perform(HTTPClientRequest(url: "http://127.0.0.1:1/x?token=secret"))
            Issue.record("connected to a closed port")
        } catch let error as HTTPClientError {
            #expect(error.kind == .connect)
            #expect(!error.description.contains("secret"))
        }
    }
}

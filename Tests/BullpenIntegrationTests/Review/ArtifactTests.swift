import BullpenDomain
import BullpenStore
import Files
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgreSQL
import Testing

/// An agent's files: uploaded with its run's callback token, named in its result's artifacts, and attached to
/// the deliverable version the result opens; on the real services.
@Suite("Agents' artifacts", .serialized)
final class ArtifactTests: @unchecked Sendable {
    let fixture: OperatorAPIFixture
    var stack: StackFixture { fixture.stack }

    init() throws { fixture = try OperatorAPIFixture("artifacts") }
    deinit { fixture.tearDown() }

    @Test("uploaded with the callback token, listed in the result, attached to its version; bad ones refused")
    func artifacts() async throws {
        let review = try stack.consumer(queue: .review)
        review.start()
        defer { review.stop() }
        let (task, token) = try stack.seedRunningTask()
        try await fixture.run { api in
            func upload(_ name: String, _ body: String, type: String, token: String?) async throws -> APIClient.Answer {
                try await api.with(token: token).request(
                    .post, "/webhooks/agents/files?name=\(name)", json: body, contentType: type)
            }
            let chart = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            let stored = try await upload("chart.svg", chart, type: "image/svg+xml", token: token)
            #expect(stored.status == .created, "\(stored.json)")
            #expect(stored.json["fileId"] as? String == FileID.of(Array(chart.utf8)))
            #expect(jsonID(stored.json["sizeBytes"]) == Int64(chart.utf8.count))
            // Refused: no token, another's token, a type not allowed, no name.
            #expect(try await upload("a.txt", "x", type: "text/plain", token: nil).status == .unauthorized)
            #expect(try await upload("a.txt", "x", type: "text/plain", token: "cb_unknown").status == .unauthorized)
            #expect(
                try await upload("a.exe", "MZ", type: "application/x-msdownload", token: token).status
                    == .unsupportedMediaType)
            #expect(try await upload("", "x", type: "text/plain", token: token).error["field"] as? String == "name")

            let artifact = try String(
                decoding: JSONSerialization.data(withJSONObject: stored.json, options: [.sortedKeys]), as: UTF8.self)
            let bad = try await api.with(token: token).request(
                .post, "/webhooks/agents/task-result",
                json:
                    #"{"taskId": \#(task), "status": "completed", "output": "done", "artifacts": [{"fileId": "x", "name": "a", "contentType": "text/plain", "sizeBytes": 1}]}"#
            )
            #expect(bad.status == .badRequest && bad.error["field"] as? String == "artifacts[0].fileId", "\(bad.json)")
            let result = try await api.with(token: token).request(
                .post, "/webhooks/agents/task-result",
                json: #"{"taskId": \#(task), "status": "completed", "output": "done", "artifacts": [\#(artifact)]}"#)
            #expect(result.status == .accepted, "\(result.json)")
            #expect(
                try eventually {
                    try self.stack.count(
                        "SELECT count(*) FROM deliverable_files f JOIN deliverables d ON d.id = f.deliverable_id WHERE d.task_id = $1",
                        [task]) == 1
                })
            let deliverable: Int64 = try #require(
                try self.stack.db.query("SELECT id FROM deliverables WHERE task_id = $1", [task]).first?.decode("id"))
            let files = try await api.get("/v1/deliverables/\(deliverable)/files")
            #expect(files.data.map { $0["name"] as? String } == ["chart.svg"])
            #expect(files.data.first?["contentType"] as? String == "image/svg+xml")
            let url = try #require(files.data.first?["url"] as? String)
            let downloaded = try await api.client.executeRequest(uri: url, method: .get, headers: [:], body: nil)
            #expect(String(buffer: downloaded.body) == chart)
            // The attempt is closed now: its token uploads nothing more.
            #expect(try await upload("late.txt", "x", type: "text/plain", token: token).status == .unauthorized)
        }
    }
}

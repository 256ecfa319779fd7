import BullpenIngest
import BullpenStore
import Files
import Foundation
import HTTPClient
import Hummingbird
import HummingbirdTesting
import Testing

/// The S3 file store against moto's server, an S3-compatible stand-in from PyPI (`ops/moto` installs it;
/// ops/test passes its path in BULLPEN_MOTO_SERVER): signed requests, a file kept once by its content, read
/// back; and ingest configured with it, uploading and serving a file by its link.
@Suite("S3 file store", .serialized)
final class S3FileStoreTests: @unchecked Sendable {
    let process = Process()
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let server =
            ProcessInfo.processInfo.environment["BULLPEN_MOTO_SERVER"]
            ?? TestEnvironment.repositoryRoot + "/.build/moto/bin/moto_server"
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw TestFailure("moto's server is not installed: run ops/moto (ops/test does)")
        }
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? CurlClient.perform(HTTPClientRequest(url: endpoint + "/", timeout: .seconds(1))))?.status == 200 {
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw TestFailure("moto's server did not answer on port \(port)")
    }

    deinit {
        // moto's server does not stop on SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func store(bucket: String) -> S3FileStore {
        S3FileStore(
            endpoint: endpoint, bucket: bucket,
            signer: S3Signer(accessKey: "bullpen-test", secretKey: "bullpen-secret"),
            timeout: .seconds(10))
    }

    @Test("a file kept once by its content and read back; a missing one is nil; the bucket made once")
    func roundTrip() throws {
        let store = store(bucket: "bullpen-roundtrip")
        try store.ensureBucket()
        try store.ensureBucket()
        let bytes = Array("%PDF-1.7 a report".utf8)
        let id = try store.put(bytes)
        #expect(id == FileID.of(bytes))
        #expect(try store.put(bytes) == id)
        let got = try store.get(id)
        #expect(got == bytes, "\(String(decoding: got ?? [], as: UTF8.self))")
        #expect(try store.get(FileID.of(Array("never stored".utf8))) == nil)
        #expect(try store.get("not-an-id") == nil)
        #expect(throws: S3FileStore.Failure.self) { try self.store(bucket: "no-such-bucket").put(bytes) }
    }

    @Test("ingest with the S3 store: an upload is kept there, and its link serves it")
    func throughIngest() async throws {
        try store(bucket: "bullpen-ingest").ensureBucket()
        let fixture = try OperatorAPIFixture(
            "s3files",
            s3: .init(
                endpoint: endpoint, bucket: "bullpen-ingest", accessKey: "bullpen-test", secretKey: "bullpen-secret"))
        defer { fixture.tearDown() }
        let task = try fixture.stack.seedRunningTask().task
        try fixture.stack.db.query(
            "UPDATE tasks SET status = 'completed', completed_at = now(), result = 'done' WHERE id = $1", [task])
        let deliverable = try #require(
            try fixture.stack.db.transaction { tx in
                try DeliverableStore.openVersions(completed: [task], messageID: "s3", in: tx)
            }.first?.id)
        try await fixture.run { api in
            let body = "a,b\n1,2\n"
            let uploaded = try await api.request(
                .post, "/v1/deliverables/\(deliverable)/files?name=table.csv", json: body, contentType: "text/csv")
            #expect(uploaded.status == .accepted, "\(uploaded.json)")
            _ = try await api.settled(try #require(uploaded.json["commandId"] as? String))
            #expect(try self.store(bucket: "bullpen-ingest").get(FileID.of(Array(body.utf8))) == Array(body.utf8))
            let url = try #require(
                try await api.get("/v1/deliverables/\(deliverable)/files").data.first?["url"] as? String)
            let response = try await api.client.executeRequest(uri: url, method: .get, headers: [:], body: nil)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == body)
        }
    }
}

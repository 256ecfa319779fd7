import BullpenDomain
import Crypto
import Files
import Foundation
import Testing

@Suite("Download links and the file store")
struct DownloadLinkTests {
    let key = Array("a link secret of thirty-two characters!".utf8)
    let file = FileID.of(Array("hello".utf8))
    let now = Date(timeIntervalSince1970: 1_900_000_000)

    func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    func parts(_ query: String) -> (deliverable: String, expires: String, signature: String) {
        let items = Dictionary(
            uniqueKeysWithValues: query.split(separator: "&").map {
                let pair = $0.split(separator: "=", maxSplits: 1)
                return (String(pair[0]), String(pair[1]))
            })
        return (items["deliverable"]!, items["expires"]!, items["signature"]!)
    }

    /// Why the link is refused; nil when it is good.
    func verify(
        _ id: String, _ deliverable: String?, _ expires: String?, _ signature: String?, at time: Date,
        key: [UInt8]? = nil
    ) -> DownloadLink.Refusal? {
        let result = DownloadLink.verify(
            fileID: id, deliverable: deliverable, expires: expires, signature: signature, key: key ?? self.key,
            now: time, hmac: hmac)
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test(
        "a link names one attachment (file and version) and is good until it expires; an altered id, version, expiry or signature, or another key, is refused"
    )
    func links() {
        let expires = Int(now.timeIntervalSince1970) + 900
        let (d, e, s) = parts(
            DownloadLink.query(fileID: file, deliverableID: 7, expires: expires, key: key, hmac: hmac))
        #expect(e == String(expires) && d == "7")
        #expect(verify(file, d, e, s, at: now) == nil)
        #expect(
            DownloadLink.verify(
                fileID: file, deliverable: d, expires: e, signature: s, key: key, now: now, hmac: hmac)
                == .success(7), "the version it names")
        #expect(verify(file, d, e, s, at: now.addingTimeInterval(900)) == nil, "good to the second")
        #expect(verify(file, d, e, s, at: now.addingTimeInterval(901)) == .expired)
        #expect(verify(FileID.of(Array("other".utf8)), d, e, s, at: now) == .mismatch)
        #expect(verify(file, "8", e, s, at: now) == .mismatch, "the same bytes under another version's name")
        #expect(verify(file, String(expires + 3600), e, s, at: now) == .mismatch)
        #expect(verify(file, d, String(expires + 3600), s, at: now) == .mismatch, "a longer life forged")
        var flipped = Array(s)
        flipped[0] = flipped[0] == "a" ? "b" : "a"
        #expect(verify(file, d, e, String(flipped), at: now) == .mismatch)
        #expect(verify(file, d, nil, s, at: now) == .malformed)
        #expect(verify(file, nil, e, s, at: now) == .malformed)
        #expect(verify(file, "x", e, s, at: now) == .malformed)
        #expect(verify(file, d, e, "zz", at: now) == .malformed)
        #expect(verify(file, d, e, s, at: now, key: Array("another key".utf8)) == .mismatch)
    }

    @Test("the local store keeps a file by its content, once; an id that is not one is never a path")
    func localStore() throws {
        let root = FileManager.default.temporaryDirectory.path + "/bullpen-store-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = LocalFileStore(root: root)
        let id = try store.put(Array("# Report\n".utf8))
        #expect(id == FileID.of(Array("# Report\n".utf8)) && FileID.isValid(id))
        #expect(try store.put(Array("# Report\n".utf8)) == id)
        #expect(try store.get(id) == Array("# Report\n".utf8))
        #expect(try store.get(FileID.of(Array("missing".utf8))) == nil)
        #expect(try store.get("../../etc/passwd") == nil)
        #expect(!FileID.isValid("sha256-" + String(repeating: "G", count: 64)))
        let folder = root + "/" + id.dropFirst(7).prefix(2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [id], "one copy, no temporary left")
    }
}

@Suite("S3 request signing")
struct S3SignerTests {
    @Test("SigV4 matches AWS's documented example (GET object with a Range header)")
    func awsExample() {
        let signer = S3Signer(
            accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1")
        let empty = S3Signer.sha256([])
        #expect(empty == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let authorization = signer.authorization(
            method: "GET", path: "/test.txt",
            headers: [
                "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": empty,
                "x-amz-date": "20130524T000000Z",
            ], payloadHash: empty)
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(S3Signer.amzDate(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}

@Suite("Stripe events")
struct StripeEventTests {
    @Test("an event's id, type, time and object are read; a malformed one names its field")
    func parse() throws {
        let body =
            #"{"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1764200000, "data": {"object": {"id": "in_1"}}}"#
        let event = try StripeEvent.parse(Array(body.utf8))
        #expect(event.id == "evt_1" && event.type == "invoice.paid" && event.created == 1_764_200_000)
        #expect(event.body == body, "kept as Stripe sent it")
        #expect(event.isHandled)
        #expect(StripeEventMessage(event: event).messageID == "stripe:evt_1")
        func field(_ text: String) -> String? {
            do { _ = try StripeEvent.parse(Array(text.utf8)) } catch { return error.field }
            return nil
        }
        #expect(field(#"{"id": "in_1", "type": "x", "created": 1, "data": {"object": {}}}"#) == "id")
        #expect(field(#"{"id": "evt_1", "type": "x", "created": "soon", "data": {"object": {}}}"#) == "created")
        #expect(field(#"{"id": "evt_1", "type": "x", "created": 1, "data": {}}"#) == "data.object")
        #expect(
            field(#"{"id": "evt_1", "object": "charge", "type": "x", "created": 1, "data": {"object": {}}}"#)
                == "object")
    }
}

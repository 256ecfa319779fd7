import Crypto
import Foundation
import HTTPClient

/// AWS Signature Version 4 for S3 requests: the canonical request, the string to sign and the signing key of
/// AWS's documentation. The clock is the caller's, so the signing can be checked against AWS's own example.
public struct S3Signer: Sendable {
    public let accessKey: String
    let secretKey: String
    public let region: String

    public init(accessKey: String, secretKey: String, region: String = "us-east-1") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    public static func sha256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
    static func hmac(_ key: [UInt8], _ text: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key)))
    }

    /// `20130524T000000Z`.
    public static func amzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// The `Authorization` header of a request: `headers` are every header to sign (lowercase names; `host`,
    /// `x-amz-date` and `x-amz-content-sha256` among them), `path` already URI-encoded, `query` the canonical
    /// query string ("" for none).
    public func authorization(
        method: String, path: String, query: String = "", headers: [String: String], payloadHash: String
    ) -> String {
        let amzDate = headers["x-amz-date"] ?? ""
        let day = String(amzDate.prefix(8))
        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.trimmingCharacters(in: .whitespaces))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [method, path, query, canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/s3/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.sha256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
        let key = Self.hmac(
            Self.hmac(Self.hmac(Self.hmac(Array("AWS4\(secretKey)".utf8), day), region), "s3"), "aws4_request")
        return "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature="
            + Self.hex(Self.hmac(key, stringToSign))
    }
}

/// A file store on an S3-compatible service (path-style: `<endpoint>/<bucket>/files/<id>`, the endpoint a
/// scheme, host and port), signed with SigV4 over libcurl, every call with a timeout. The keys never reach a
/// log or an error: an error carries the service's status and its error code only.
public struct S3FileStore: FileStore {
    public let endpoint: String
    public let bucket: String
    let signer: S3Signer
    let timeout: Duration

    public struct Failure: Error, CustomStringConvertible {
        public let status: Int
        public let code: String
        public var description: String { "the file store answered HTTP \(status)\(code.isEmpty ? "" : " (\(code))")" }
    }

    public init(endpoint: String, bucket: String, signer: S3Signer, timeout: Duration = .seconds(30)) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.bucket = bucket
        self.signer = signer
        self.timeout = timeout
    }

    func send(_ method: String, _ path: String, body: [UInt8] = []) throws -> HTTPClientResponse {
        let payloadHash = S3Signer.sha256(body)
        let url = URLComponents(string: endpoint)
        let host = (url?.host ?? "") + (url?.port.map { ":\($0)" } ?? "")
        var headers = ["host": host, "x-amz-date": S3Signer.amzDate(Date()), "x-amz-content-sha256": payloadHash]
        headers["authorization"] = signer.authorization(
            method: method, path: path, headers: headers, payloadHash: payloadHash)
        headers["host"] = nil  // libcurl sends it, from the URL
        // Without a type, libcurl labels a body as a form, which a server may parse instead of storing.
        if method == "PUT" { headers["content-type"] = "application/octet-stream" }
        return try CurlClient.perform(
            HTTPClientRequest(
                method: method, url: endpoint + path, headers: headers.map { ($0.key, $0.value) },
                body: method == "PUT" ? body : nil, timeout: timeout))
    }

    static func failure(_ response: HTTPClientResponse) -> Failure {
        let text = response.text
        let code = text.range(of: "<Code>").flatMap { start in
            text[start.upperBound...].range(of: "</Code>").map { String(text[start.upperBound..<$0.lowerBound]) }
        }
        return Failure(status: response.status, code: String((code ?? "").prefix(100)))
    }

    /// Creates the bucket if it is not there.
    public func ensureBucket() throws {
        let response = try send("PUT", "/\(bucket)")
        guard response.status == 200 || response.status == 409 else { throw Self.failure(response) }
    }

    public func put(_ bytes: [UInt8]) throws -> String {
        let id = FileID.of(bytes)
        let response = try send("PUT", "/\(bucket)/files/\(id)", body: bytes)
        guard response.status == 200 else { throw Self.failure(response) }
        return id
    }

    public func get(_ id: String) throws -> [UInt8]? {
        guard FileID.isValid(id) else { return nil }
        let response = try send("GET", "/\(bucket)/files/\(id)")
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw Self.failure(response) }
        return response.body
    }
}

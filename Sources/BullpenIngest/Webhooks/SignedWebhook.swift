import BullpenDomain
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The checks the signed webhooks share: Stripe's scheme (which Bullpen's own producers use too) or Slack's over
/// the raw body, against every secret; 400 with the refusal's code. Each returns the signing time.
enum SignedWebhook {
    static func verify(_ request: Request, header: String, body: [UInt8], secrets: [String]) throws -> Int {
        try signedAt(
            WebhookSignature.verify(
                header: request.headers[HTTPField.Name(header)!], body: body, secrets: secrets, now: Date(),
                hmac: hmacSHA256))
    }

    /// The same check in Slack's scheme (`X-Slack-Request-Timestamp`, `X-Slack-Signature: v0=`).
    static func verifySlack(_ request: Request, body: [UInt8], secrets: [String]) throws -> Int {
        try signedAt(
            WebhookSignature.verifySlack(
                timestamp: request.headers[HTTPField.Name("X-Slack-Request-Timestamp")!],
                signature: request.headers[HTTPField.Name("X-Slack-Signature")!], body: body, secrets: secrets,
                now: Date(), hmac: hmacSHA256))
    }

    /// The signing time, or 400 with the refusal's code.
    private static func signedAt(_ verified: Result<Int, WebhookSignature.Refusal>) throws -> Int {
        switch verified {
        case .failure(let refusal): throw APIError(.badRequest, refusal.description, code: refusal.code)
        case .success(let timestamp): return timestamp
        }
    }

    /// The HMAC both schemes sign with (Stripe's and Slack's).
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// The raw body of a signed webhook, read once its endpoint is known to be configured: without a secret
    /// the answer is 503 with `code`, naming what is missing (`endpoint`, the environment `variable`).
    static func body(
        _ request: Request, secrets: [String], upTo limit: Int, endpoint: String, variable: String, code: String
    ) async throws -> [UInt8] {
        guard !secrets.isEmpty else {
            throw APIError(.serviceUnavailable, "\(endpoint) not configured on this ingest (\(variable))", code: code)
        }
        return try await RequestBody.read(request, upTo: limit)
    }
}

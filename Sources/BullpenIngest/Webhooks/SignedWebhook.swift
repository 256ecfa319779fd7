import BullpenDomain
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The check both signed webhooks share (Stripe's scheme, which Bullpen's own producers use too): the header
/// `header` over the raw body, against every secret; 400 with the refusal's code. Returns the signing time.
enum SignedWebhook {
    static func verify(_ request: Request, header: String, body: [UInt8], secrets: [String]) throws -> Int {
        let verified = WebhookSignature.verify(
            header: request.headers[HTTPField.Name(header)!], body: body, secrets: secrets, now: Date()
        ) { key, message in
            Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        }
        switch verified {
        case .failure(let refusal): throw APIError(.badRequest, refusal.description, code: refusal.code)
        case .success(let timestamp): return timestamp
        }
    }
}

import BullpenDomain
import BullpenIngest
import BullpenMessaging
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /webhooks/stripe` on the real broker: signed as Stripe signs, published to the billing queue only
/// after the confirm; every kind of bad signature refused with nothing published; types Bullpen does not
/// apply acknowledged and dropped.
@Suite("Stripe webhooks", .serialized)
final class StripeWebhookTests: @unchecked Sendable {
    let stack: StackFixture
    static let secrets = ["whsec_old_secret_being_rolled", "whsec_current_secret"]

    init() throws { stack = try StackFixture("stripe") }
    deinit { stack.tearDown() }

    func signature(
        _ body: String, secret: String = secrets[1], at time: Int = Int(Date().timeIntervalSince1970)
    )
        -> String
    {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(time).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(time),v1=" + mac.map { String(format: "%02x", $0) }.joined() + ",v0=ignored"
    }

    func event(_ id: String, type: String = "invoice.paid") -> String {
        #"{"id": "\#(id)", "object": "event", "type": "\#(type)", "created": 1764200000, "livemode": false, "data": {"object": {"id": "in_1", "customer": "cus_1", "amount_paid": 450000}}}"#
    }

    func billingDepth() throws -> Int { try stack.broker.depth(stack.topology.workQueue(.billing)) }

    @Test(
        "signed events are published with Stripe's id; bad signatures refused, nothing published; other types dropped")
    func webhooks() async throws {
        let server = try stack.ingest(stripeWebhookSecrets: Self.secrets)
        try await server.application().test(.router) { client in
            try await TaskResultIngestTests.connected(server.publisher)
            func post(_ body: String, signature: String?) async throws -> (HTTPResponse.Status, [String: Any]) {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let signature { headers[HTTPField.Name("Stripe-Signature")!] = signature }
                let response = try await client.executeRequest(
                    uri: "/webhooks/stripe", method: .post, headers: headers, body: ByteBuffer(string: body))
                let json =
                    (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
                    ?? [:]
                return (response.status, json)
            }
            func code(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["code"] as? String }

            let paid = self.event("evt_paid_1")
            let (status, json) = try await post(paid, signature: self.signature(paid))
            #expect(status == .ok && json["eventId"] as? String == "evt_paid_1" && json["ignored"] as? Bool == false)
            #expect(try eventually { try self.billingDepth() == 1 })
            let (again, _) = try await post(paid, signature: self.signature(paid, secret: Self.secrets[0]))
            #expect(again == .ok, "a rotated secret still signs; a redelivery is accepted (applied once downstream)")

            let before = try self.billingDepth()
            let refused: [(String?, String)] = [
                (nil, "signature_missing"),
                ("t=1,v1=zz", "signature_malformed"),
                (self.signature(paid, at: Int(Date().timeIntervalSince1970) - 301), "signature_stale"),
                (self.signature(paid, secret: "whsec_someone_else"), "signature_mismatch"),
                (self.signature(paid + " "), "signature_mismatch"),
            ]
            for (header, expected) in refused {
                let (status, json) = try await post(paid, signature: header)
                #expect(status == .badRequest && code(json) == expected, "\(expected): \(json)")
            }
            let malformed = #"{"id": "nope", "type": "invoice.paid", "created": 1, "data": {"object": {}}}"#
            let (bad, badJSON) = try await post(malformed, signature: self.signature(malformed))
            #expect(bad == .badRequest && (badJSON["error"] as? [String: Any])?["field"] as? String == "id")
            let other = self.event("evt_other_1", type: "charge.refunded")
            let (ignored, ignoredJSON) = try await post(other, signature: self.signature(other))
            #expect(ignored == .ok && ignoredJSON["ignored"] as? Bool == true)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try self.billingDepth() == before, "nothing refused or ignored was published")
        }
    }
}

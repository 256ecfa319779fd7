import BullpenDomain
import Crypto
import Foundation
import Testing

@Suite("Webhook signatures and lifecycle events")
struct WebhookSignatureTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let body = Array(#"{"type":"command","action":"new"}"#.utf8)

    func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    func sign(_ secret: String, at t: Int, _ body: [UInt8]) -> String {
        WebhookSignature.header(timestamp: t, signature: hmac(Array(secret.utf8), Array("\(t).".utf8) + body))
    }

    func verify(
        _ header: String?, secrets: [String] = ["whsec_one"], body: [UInt8]? = nil
    ) -> Result<Int, WebhookSignature.Refusal> {
        WebhookSignature.verify(header: header, body: body ?? self.body, secrets: secrets, now: now, hmac: hmac)
    }

    @Test("a fresh signature of the exact body passes; any other body, secret or time does not")
    func verifying() {
        let t = Int(now.timeIntervalSince1970) - 10
        #expect(verify(sign("whsec_one", at: t, body)) == .success(t))
        #expect(verify(sign("whsec_one", at: t, body), body: body + [0x20]) == .failure(.mismatch))
        #expect(verify(sign("whsec_two", at: t, body)) == .failure(.mismatch))
        #expect(verify(sign("whsec_two", at: t, body), secrets: ["whsec_one", "whsec_two"]) == .success(t), "rotation")
        #expect(verify(sign("whsec_one", at: t - 300, body)) == .failure(.stale(ageSeconds: 310)))
        #expect(verify(sign("whsec_one", at: t + 400, body)) == .failure(.stale(ageSeconds: -390)))
        let both = sign("whsec_old", at: t, body) + "," + sign("whsec_one", at: t, body).split(separator: ",")[1]
        #expect(verify(both) == .success(t), "any v1 may match")
    }

    @Test("missing and malformed headers are told apart, each with its code")
    func malformed() {
        #expect(verify(nil) == .failure(.missing))
        #expect(verify(nil).failureCode == "signature_missing")
        #expect(verify("v1=00").failureCode == "signature_malformed")
        #expect(verify("t=abc,v1=" + String(repeating: "0", count: 64)).failureCode == "signature_malformed")
        #expect(verify("t=1800000000").failureCode == "signature_malformed")
        #expect(verify("t=1800000000,v1=zz").failureCode == "signature_malformed")
        #expect(verify("garbage").failureCode == "signature_malformed")
    }

    @Test(
        "a lifecycle body: the pair checked, unknown fields refused, context.cfg dropped, the agent named by its session key"
    )
    func lifecycle() throws {
        let event = try AgentLifecycleEvent.parse(
            Array(
                #"{"type":"command","action":"new","sessionKey":"agent:writer-1:bullpen:task-7","timestamp":"2026-11-27T07:00:00Z","context":{"cfg":{"token":"s3cret"},"channel":"cli"}}"#
                    .utf8))
        #expect(event.kind == .commandNew && event.marksOnline)
        #expect(event.agentName == "writer-1")
        #expect(event.contextJSON == #"{"channel":"cli"}"#)
        #expect(try AgentLifecycleEvent.parse(Array(#"{"type":"gateway","action":"startup"}"#.utf8)).agentName == nil)
        #expect(try !AgentLifecycleEvent.parse(Array(#"{"type":"command","action":"stop"}"#.utf8)).marksOnline)
        #expect(throws: ValidationError(field: "extra", message: "is not a field of this request")) {
            try AgentLifecycleEvent.parse(Array(#"{"type":"command","action":"new","extra":1}"#.utf8))
        }
        #expect(throws: ValidationError.self) {
            try AgentLifecycleEvent.parse(Array(#"{"type":"command","action":"fly"}"#.utf8))
        }
        #expect(throws: ValidationError.self) { try AgentLifecycleEvent.parse(Array("[]".utf8)) }
    }
}

extension Result where Failure == WebhookSignature.Refusal {
    var failureCode: String? {
        if case .failure(let refusal) = self { return refusal.code }
        return nil
    }
}

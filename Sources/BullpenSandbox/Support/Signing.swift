import BullpenDomain
import Crypto
import Foundation

/// Signs a webhook body as Stripe does (`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), for the stand-ins
/// that send signed webhooks and for the tests.
public enum SandboxSigning {
    public static func header(body: [UInt8], secret: String, at time: Int = Int(Date().timeIntervalSince1970)) -> String
    {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(time).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return WebhookSignature.header(timestamp: time, signature: Array(mac))
    }

    /// Slack's two headers for a body (`X-Slack-Request-Timestamp`, `X-Slack-Signature: v0=<hex HMAC-SHA256 of
    /// "v0:<t>:<body>">`).
    public static func slackHeaders(
        body: [UInt8], secret: String, at time: Int = Int(Date().timeIntervalSince1970)
    ) -> [(name: String, value: String)] {
        let mac = HMAC<SHA256>.authenticationCode(
            for: WebhookSignature.slackSigned(timestamp: time, body: body),
            using: SymmetricKey(data: Array(secret.utf8)))
        return [
            ("X-Slack-Request-Timestamp", String(time)),
            ("X-Slack-Signature", WebhookSignature.slackHeader(signature: Array(mac))),
        ]
    }
}

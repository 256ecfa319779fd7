import Foundation

/// Signed webhooks in Stripe's scheme, which Bullpen's own producers use too (the gateway's lifecycle hook):
/// a header `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each v1 an HMAC-SHA256 of `"<t>.<raw body>"` keyed
/// with the whole secret string. Any v1 matching any of the secrets (more than one during a rotation)
/// passes, if `t` is within the tolerance of now. The rules, with no clock and no crypto of their own: the
/// caller passes the time and the HMAC function. Slack signs its own way (``verifySlack(timestamp:signature:body:secrets:now:tolerance:hmac:)``)
/// under the same rules.
public enum WebhookSignature {
    /// Why a signature is refused, each with the code the answer carries.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        case missing
        case malformed(String)
        case stale(ageSeconds: Int)
        case mismatch

        public var code: String {
            switch self {
            case .missing: return "signature_missing"
            case .malformed: return "signature_malformed"
            case .stale: return "signature_stale"
            case .mismatch: return "signature_mismatch"
            }
        }

        public var description: String {
            switch self {
            case .missing: return "the request is not signed"
            case .malformed(let why): return "the signature header is malformed: \(why)"
            case .stale(let age):
                return
                    "the signature is \(abs(age)) s \(age >= 0 ? "old" : "in the future"); the limit is \(WebhookSignature.defaultTolerance) s"
            case .mismatch: return "no signature matches the body"
            }
        }
    }

    public static let defaultTolerance = 300

    /// The timestamp and the v1 signatures of a header; other schemes (v0 ...) are ignored.
    public static func parse(_ header: String?) -> Result<(timestamp: Int, signatures: [[UInt8]]), Refusal> {
        guard let header, !header.isEmpty else { return .failure(.missing) }
        var timestamp: Int?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { return .failure(.malformed("'\(part.prefix(40))' is not key=value")) }
            switch pair[0] {
            case "t":
                guard let t = Int(pair[1]) else { return .failure(.malformed("t is not a number of seconds")) }
                timestamp = t
            case "v1":
                guard let bytes = Hex.bytes(pair[1]), bytes.count == 32 else {
                    return .failure(.malformed("v1 is not 64 hex digits"))
                }
                signatures.append(bytes)
            default:
                continue
            }
        }
        guard let timestamp else { return .failure(.malformed("no t=")) }
        guard !signatures.isEmpty else { return .failure(.malformed("no v1=")) }
        return .success((timestamp, signatures))
    }

    /// Checks a header against the raw body: parsed, fresh, and one v1 equal (in constant time) to the HMAC
    /// of `"<t>.<body>"` under one of the secrets.
    public static func verify(
        header: String?, body: [UInt8], secrets: [String], now: Date, tolerance: Int = defaultTolerance,
        hmac: (_ key: [UInt8], _ message: [UInt8]) -> [UInt8]
    ) -> Result<Int, Refusal> {
        switch parse(header) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let parsed):
            return check(
                timestamp: parsed.timestamp, signatures: parsed.signatures,
                signed: Array("\(parsed.timestamp).".utf8) + body, secrets: secrets, now: now, tolerance: tolerance,
                hmac: hmac)
        }
    }

    /// Checks Slack's scheme: `X-Slack-Request-Timestamp: <unix seconds>` and `X-Slack-Signature: v0=<hex>`,
    /// an HMAC-SHA256 of `"v0:<timestamp>:<raw body>"` keyed with the app's signing secret (more than one
    /// during a rotation); the same tolerance and refusals as ``verify(header:body:secrets:now:tolerance:hmac:)``.
    public static func verifySlack(
        timestamp: String?, signature: String?, body: [UInt8], secrets: [String], now: Date,
        tolerance: Int = defaultTolerance, hmac: (_ key: [UInt8], _ message: [UInt8]) -> [UInt8]
    ) -> Result<Int, Refusal> {
        guard let timestamp, !timestamp.isEmpty, let signature, !signature.isEmpty else { return .failure(.missing) }
        guard let seconds = Int(timestamp) else {
            return .failure(.malformed("X-Slack-Request-Timestamp is not a number of seconds"))
        }
        guard signature.hasPrefix("v0="), let bytes = Hex.bytes(String(signature.dropFirst(3))), bytes.count == 32
        else {
            return .failure(.malformed("X-Slack-Signature is not v0= and 64 hex digits"))
        }
        return check(
            timestamp: seconds, signatures: [bytes], signed: slackSigned(timestamp: seconds, body: body),
            secrets: secrets,
            now: now, tolerance: tolerance, hmac: hmac)
    }

    /// Fresh, and one signature equal (in constant time) to the HMAC of `signed` under one of the secrets.
    static func check(
        timestamp: Int, signatures: [[UInt8]], signed: [UInt8], secrets: [String], now: Date, tolerance: Int,
        hmac: (_ key: [UInt8], _ message: [UInt8]) -> [UInt8]
    ) -> Result<Int, Refusal> {
        let age = Int(now.timeIntervalSince1970) - timestamp
        guard abs(age) <= tolerance else { return .failure(.stale(ageSeconds: age)) }
        for secret in secrets {
            let expected = hmac(Array(secret.utf8), signed)
            for candidate in signatures where ConstantTime.equal(candidate, expected) {
                return .success(timestamp)
            }
        }
        return .failure(.mismatch)
    }

    /// The header a producer sends (for the sandbox and the tests).
    public static func header(timestamp: Int, signature: [UInt8]) -> String {
        "t=\(timestamp),v1=" + Hex.string(signature)
    }

    /// Slack's `X-Slack-Signature` for a body signed at `timestamp` (for the sandbox and the tests); the bytes
    /// are the HMAC of ``slackSigned(timestamp:body:)``.
    public static func slackHeader(signature: [UInt8]) -> String { "v0=" + Hex.string(signature) }

    /// What Slack signs.
    public static func slackSigned(timestamp: Int, body: [UInt8]) -> [UInt8] { Array("v0:\(timestamp):".utf8) + body }

}

import Foundation
import HTTPClient

/// What Bullpen asks Stripe for: a Checkout Session for one plan.
public struct CheckoutRequest: Sendable, Equatable {
    public var mode: String
    public var priceID: String
    public var email: String
    public var successURL: String
    public var cancelURL: String
    /// Put on the session; its `checkout.session.completed` carries it back (`plan`, `brief`).
    public var metadata: [String: String]

    public init(
        mode: String, priceID: String, email: String, successURL: String, cancelURL: String, metadata: [String: String]
    ) {
        self.mode = mode
        self.priceID = priceID
        self.email = email
        self.successURL = successURL
        self.cancelURL = cancelURL
        self.metadata = metadata
    }

    /// Stripe's form encoding, fields sorted so that a retry under the same key is the same request.
    public var form: [(String, String)] {
        [
            ("cancel_url", cancelURL), ("customer_email", email), ("line_items[0][price]", priceID),
            ("line_items[0][quantity]", "1"), ("mode", mode), ("success_url", successURL),
        ] + metadata.sorted { $0.key < $1.key }.map { ("metadata[\($0.key)]", $0.value) }
    }
}

/// A session Stripe created (a Checkout Session, or a Customer Portal session): where to send the client.
public struct CheckoutSession: Sendable, Equatable {
    public var id: String
    public var url: String
}

/// Stripe refused or could not be reached; `description` is safe to show (never the key).
public struct StripeAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status, or nil when there was no answer.
    public var status: Int?
    public var type: String
    public var message: String

    public var description: String {
        status.map { "Stripe \($0) \(type): \(message)" } ?? "Stripe did not answer: \(message)"
    }
}

/// Stripe's API over libcurl, as its documentation describes it: form-encoded POSTs with the secret key as a
/// Bearer token, an `Idempotency-Key` so a retried create returns the first session, JSON answers, errors as
/// `{"error": {"type", "code", "message"}}`. The base URL is configurable (the sandbox's stand-in in tests
/// and the demo).
public struct StripeClient: Sendable {
    public var baseURL: String
    let secretKey: String
    public var timeout: Duration

    public init(baseURL: String = "https://api.stripe.com", secretKey: String, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secretKey = secretKey
        self.timeout = timeout
    }

    /// Where a Checkout or Customer Portal session's `url` leads: Stripe's hosted pages for Stripe's API, the
    /// stand-in's own origin for another base URL.
    public var hostedPageOrigins: [String] {
        guard let origin = webOrigin(of: baseURL) else { return [] }
        if origin == "https://api.stripe.com" { return ["https://checkout.stripe.com", "https://billing.stripe.com"] }
        return [origin]
    }

    public func request(_ checkout: CheckoutRequest, idempotencyKey: String) -> HTTPClientRequest {
        post("/v1/checkout/sessions", checkout.form, idempotencyKey: idempotencyKey)
    }

    /// A form-encoded POST to Stripe's API.
    func post(_ path: String, _ form: [(String, String)], idempotencyKey: String) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", url: baseURL + path,
            headers: [
                ("Authorization", "Bearer \(secretKey)"), ("Content-Type", "application/x-www-form-urlencoded"),
                ("Idempotency-Key", String(idempotencyKey.prefix(255))), ("User-Agent", "bullpen/1"),
            ],
            body: Array(FormEncoding.encode(form).utf8), timeout: timeout)
    }

    /// Blocks for the answer (at most `timeout`).
    public func createCheckoutSession(
        _ checkout: CheckoutRequest, idempotencyKey: String
    ) throws(StripeAPIError)
        -> CheckoutSession
    {
        try Self.session(perform(request(checkout, idempotencyKey: idempotencyKey)))
    }

    /// A Customer Portal session for a customer (`POST /v1/billing_portal/sessions`): the page where the
    /// customer changes its plan or payment method, then comes back to `returnURL`. Blocks for the answer.
    public func createPortalSession(customer: String, returnURL: String) throws(StripeAPIError) -> CheckoutSession {
        try Self.session(
            perform(
                post(
                    "/v1/billing_portal/sessions", [("customer", customer), ("return_url", returnURL)],
                    idempotencyKey: "bullpen-portal-" + UUID().uuidString)))
    }

    func perform(_ request: HTTPClientRequest) throws(StripeAPIError) -> HTTPClientResponse {
        do { return try CurlClient.perform(request) } catch {
            throw StripeAPIError(status: nil, type: "network", message: "\(error)")
        }
    }

    static func session(_ response: HTTPClientResponse) throws(StripeAPIError) -> CheckoutSession {
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard (200..<300).contains(response.status) else {
            let error = json?["error"] as? [String: Any]
            throw StripeAPIError(
                status: response.status, type: error?["type"] as? String ?? "api_error",
                message: String((error?["message"] as? String ?? "no error message").prefix(300)))
        }
        guard let id = json?["id"] as? String, let url = json?["url"] as? String else {
            throw StripeAPIError(status: response.status, type: "api_error", message: "the answer has no id and url")
        }
        return CheckoutSession(id: id, url: url)
    }
}

/// `application/x-www-form-urlencoded`, as Stripe reads it.
public enum FormEncoding {
    static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    public static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}

import Foundation
import HTTPClient

/// An email as Resend's `POST /emails` takes it.
public struct Email: Sendable, Equatable, Codable {
    /// "Name <address>".
    public var from: String
    public var to: [String]
    public var subject: String
    public var html: String?
    public var text: String?
    public var tags: [Tag]?

    public struct Tag: Sendable, Equatable, Codable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(from: String, to: [String], subject: String, html: String?, text: String?, tags: [Tag]? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.html = html
        self.text = text
        self.tags = tags
    }
}

/// Resend's email API over libcurl. The `Idempotency-Key` is the caller's (Bullpen derives it from the
/// notification), so a retried or redelivered send returns the first answer and sends nothing more. The API
/// key goes only into the Authorization header, never into an error or a log.
public struct ResendClient: Sendable {
    public var baseURL: String
    let apiKey: String
    public var timeout: Duration

    public init(baseURL: String = "https://api.resend.com", apiKey: String, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeout = timeout
    }

    /// The request for one email.
    public func request(_ email: Email, idempotencyKey: String) throws -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", url: baseURL + "/emails",
            headers: [
                ("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json"),
                ("User-Agent", "bullpen/1"), ("Idempotency-Key", String(idempotencyKey.prefix(256))),
            ],
            body: Array(try Self.encoder.encode(email)), timeout: timeout)
    }

    /// Keys sorted: the same email is the same bytes every time, as an idempotent repeat must be (the key
    /// order of a plain encoder changes from run to run).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    public func send(_ email: Email, idempotencyKey: String) -> SendOutcome {
        do {
            return Self.outcome(try CurlClient.perform(try request(email, idempotencyKey: idempotencyKey)))
        } catch {
            return .noAnswer(error)
        }
    }

    /// Resend's answers, as its documentation classes them: 200 sent; 429 rate limit (after `retry-after`),
    /// 429 quota exceeded (an hour at least), 409 concurrent idempotent requests, 5xx: retry; 400, 401, 403,
    /// 404, 405, 409 invalid idempotent request, 422, 451 and any other 4xx: rejected.
    public static func outcome(_ response: HTTPClientResponse) -> SendOutcome {
        let error = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body))
        let reason = "Resend \(response.status) \(error?.name ?? ""): \(error?.message ?? SendOutcome.said(response))"
        switch response.status {
        case 200..<300:
            let id = (try? JSONDecoder().decode(Sent.self, from: Data(response.body)))?.id
            return .sent(providerID: id)
        case 429 where error?.name == "daily_quota_exceeded" || error?.name == "monthly_quota_exceeded":
            return .retry(reason: reason, after: max(SendOutcome.retryAfter(response) ?? .zero, .seconds(3600)))
        case 429:
            return .retry(reason: reason, after: SendOutcome.retryAfter(response))
        case 409 where error?.name == "concurrent_idempotent_requests":
            return .retry(reason: reason, after: .seconds(1))
        case 500..<600:
            return .retry(reason: reason, after: SendOutcome.retryAfter(response))
        default:
            return .rejected(reason: reason)
        }
    }

    struct Sent: Decodable { let id: String }
    struct ErrorBody: Decodable {
        let name: String?
        let message: String?
    }
}

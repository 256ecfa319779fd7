import HTTPClient

/// What one attempt to send through a provider came to.
public enum SendOutcome: Sendable, Equatable {
    /// Accepted; the provider's id for it when it gives one.
    case sent(providerID: String?)
    /// Try again later (rate limited, the provider failing, no answer), not before `after` when the provider
    /// said how long to wait.
    case retry(reason: String, after: Duration?)
    /// Retrying cannot fix it (a bad address or payload, a revoked hook): the provider's reason.
    case rejected(reason: String)

    /// The outcome of a request that got no HTTP answer: a timeout or a refused connection is worth another
    /// try (the provider may or may not have it: an idempotency key makes that harmless where there is one).
    static func noAnswer(_ error: any Error) -> SendOutcome {
        .retry(reason: "\(error)", after: nil)
    }

    /// The `Retry-After` header in seconds (integer or decimal), when present and sane.
    static func retryAfter(_ response: HTTPClientResponse) -> Duration? {
        guard let text = response.header("retry-after"), let seconds = Double(text), seconds >= 0, seconds < 86_400
        else { return nil }
        return .milliseconds(Int(seconds * 1000))
    }

    /// At most 300 characters of what the provider said, on one line.
    static func said(_ response: HTTPClientResponse) -> String {
        String(response.text.prefix(300)).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

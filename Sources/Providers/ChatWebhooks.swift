import Foundation
import HTTPClient

/// A Slack incoming webhook: `POST <hook url>` with `{"text"}`; 200 `ok`. The hook URL is the credential:
/// it goes only into the request, never into an error or a log.
public struct SlackWebhook: Sendable {
    public var timeout: Duration

    public init(timeout: Duration = .seconds(10)) { self.timeout = timeout }

    public func request(url: String, text: String) throws -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", url: url, headers: [("Content-Type", "application/json"), ("User-Agent", "bullpen/1")],
            body: Array(try ResendClient.encoder.encode(["text": text])), timeout: timeout)
    }

    public func send(url: String, text: String) -> SendOutcome {
        do { return Self.outcome(try CurlClient.perform(try request(url: url, text: text))) } catch {
            return .noAnswer(error)
        }
    }

    /// 200: sent. 429 (after `Retry-After`) and 5xx: retry. Any 4xx (invalid_payload, action_prohibited,
    /// channel_not_found, channel_is_archived, no_service): rejected.
    public static func outcome(_ response: HTTPClientResponse) -> SendOutcome {
        let reason = "Slack \(response.status): \(SendOutcome.said(response))"
        switch response.status {
        case 200..<300: return .sent(providerID: nil)
        case 429, 500..<600: return .retry(reason: reason, after: SendOutcome.retryAfter(response))
        default: return .rejected(reason: reason)
        }
    }
}

/// A Discord webhook: `POST <webhook url>?wait=true` with `{content, allowed_mentions: {parse: []}}` (no
/// pings); with `wait=true` a failure is never silent. The webhook URL is the credential, as Slack's.
public struct DiscordWebhook: Sendable {
    public var timeout: Duration

    public init(timeout: Duration = .seconds(10)) { self.timeout = timeout }

    public func request(url: String, content: String) throws -> HTTPClientRequest {
        struct Body: Encodable {
            let content: String
            /// Nobody is pinged by what Bullpen writes.
            let allowedMentions = ["parse": [String]()]
            enum CodingKeys: String, CodingKey {
                case content
                case allowedMentions = "allowed_mentions"
            }
        }
        let separator = url.contains("?") ? "&" : "?"
        return HTTPClientRequest(
            method: "POST", url: url + separator + "wait=true",
            headers: [("Content-Type", "application/json"), ("User-Agent", "bullpen/1")],
            body: Array(try ResendClient.encoder.encode(Body(content: String(content.prefix(2000))))), timeout: timeout)
    }

    public func send(url: String, content: String) -> SendOutcome {
        do { return Self.outcome(try CurlClient.perform(try request(url: url, content: content))) } catch {
            return .noAnswer(error)
        }
    }

    /// 200 (the message, with its id) or 204: sent. 429 (after `retry_after` or `Retry-After`) and 5xx:
    /// retry. Any other 4xx (404 unknown webhook ...): rejected.
    public static func outcome(_ response: HTTPClientResponse) -> SendOutcome {
        struct Message: Decodable { let id: String? }
        struct Limited: Decodable {
            let retryAfter: Double?
            enum CodingKeys: String, CodingKey { case retryAfter = "retry_after" }
        }
        let reason = "Discord \(response.status): \(SendOutcome.said(response))"
        switch response.status {
        case 200..<300:
            return .sent(providerID: (try? JSONDecoder().decode(Message.self, from: Data(response.body)))?.id)
        case 429:
            let seconds = (try? JSONDecoder().decode(Limited.self, from: Data(response.body)))?.retryAfter
            return .retry(
                reason: reason,
                after: seconds.map { .milliseconds(Int($0 * 1000)) } ?? SendOutcome.retryAfter(response))
        case 500..<600:
            return .retry(reason: reason, after: SendOutcome.retryAfter(response))
        default:
            return .rejected(reason: reason)
        }
    }
}

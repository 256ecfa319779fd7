import BullpenDomain
import BullpenMessaging
import Logging

extension ConfirmingPublisher {
    /// How long ingest keeps trying a publish lost with its connection before it answers 503: long enough to
    /// ride over a broker node stopping (the publisher reconnects to the next node at once), short enough that
    /// a broker away for good is still a quick 503.
    static let ingestRetryWindow: Duration = .milliseconds(1500)

    /// The longest a request waits for its publish, whatever the broker's sockets do (a partitioned node
    /// answers nothing, and reconnecting tries it first): past this, 503 (the outcome unknown, as for any 503;
    /// a retry is harmless, and a load balancer's retry on another ingest still answers within 10 s). The
    /// retry window fits inside it; a confirm slower than this is answered 503 too.
    static let ingestAnswerDeadline: Duration = .seconds(4)

    /// Publishes a request's message and returns once the broker confirmed it; otherwise 503 naming `what`
    /// (the request may be retried: the message id makes a second copy harmless).
    func publishConfirmed(
        _ message: some BullpenMessage, topology: Topology, what: String, logger: Logger
    ) async throws {
        let outgoing = try Envelope.outgoing(message, topology: topology, appID: "bullpen-ingest")
        do {
            try await publish(
                outgoing, retryingFor: Self.ingestRetryWindow, answeringWithin: Self.ingestAnswerDeadline)
        } catch {
            logger.warning("publish failed", metadata: ["error": "\(error)", "message.id": "\(message.messageID)"])
            throw APIError.brokerUnavailable(what)
        }
    }
}

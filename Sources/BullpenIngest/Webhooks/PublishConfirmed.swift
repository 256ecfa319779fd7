import BullpenDomain
import BullpenMessaging
import Logging

extension ConfirmingPublisher {
    /// How long ingest keeps trying a publish lost with its connection before it answers 503: long enough to
    /// ride over a broker node stopping (the publisher reconnects to the next node at once), short enough that
    /// a broker away for good is still a quick 503.
    static let ingestRetryWindow: Duration = .milliseconds(1500)

    /// Publishes a request's message and returns once the broker confirmed it; otherwise 503 naming `what`
    /// (the request may be retried: the message id makes a second copy harmless).
    func publishConfirmed(
        _ message: some BullpenMessage, topology: Topology, what: String, logger: Logger
    ) async throws {
        do {
            try await publish(
                try Envelope.outgoing(message, topology: topology, appID: "bullpen-ingest"),
                retryingFor: Self.ingestRetryWindow)
        } catch {
            logger.warning("publish failed", metadata: ["error": "\(error)", "message.id": "\(message.messageID)"])
            throw APIError.brokerUnavailable(what)
        }
    }
}

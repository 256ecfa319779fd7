import BullpenDomain
import BullpenMessaging
import Logging

extension ConfirmingPublisher {
    /// Publishes a webhook's message and returns once the broker confirmed it; otherwise 503 naming `what`
    /// (the request may be retried: the message id makes a second copy harmless).
    func publishConfirmed(
        _ message: some BullpenMessage, topology: Topology, what: String, logger: Logger
    ) async throws {
        do {
            try await publish(try Envelope.outgoing(message, topology: topology, appID: "bullpen-ingest"))
        } catch {
            logger.warning("publish failed", metadata: ["error": "\(error)", "message.id": "\(message.messageID)"])
            throw APIError.brokerUnavailable(what)
        }
    }
}

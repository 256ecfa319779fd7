import AMQP
import BullpenDomain
import BullpenRuntime
import BullpenStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /webhooks/agents/task-result`: an agent reports its task's outcome.
///
/// The per-dispatch callback token (`Authorization: Bearer <token>`) identifies the open task attempt;
/// the body is validated; the result is published to the review queue with a confirm, and only then
/// is 202 returned. 401: missing or unknown token. 403: the token is for another task. 400: the body is
/// wrong (the message names the field). 413: the body is too large. 503: broker or database unavailable.
struct TaskResultRoute: Sendable {
    let publisher: ConfirmingPublisher
    let tokens: BatchingLookup<[UInt8], CallbackTokens.Attempt>
    let topology: Topology
    let maxBodyBytes: Int

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let token = try Self.bearerToken(request.headers[.authorization])
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, "the body is larger than \(maxBodyBytes) bytes")
        }
        let body = Array(buffer.readableBytesView)

        let hash = Array(SHA256.hash(data: Array(token.utf8)))
        let attempt: CallbackTokens.Attempt?
        do {
            attempt = try await tokens.value(for: hash)
        } catch {
            context.logger.error("token look-up failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "the database is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        guard let attempt else {
            throw APIError(.unauthorized, "unknown or expired callback token", headers: [.wwwAuthenticate: "Bearer"])
        }

        let report: TaskResultReport
        do {
            report = try TaskResultReport.parse(body)
        } catch {
            throw APIError(.badRequest, error.description, field: error.field.isEmpty ? nil : error.field)
        }
        guard report.taskId == attempt.taskID else {
            throw APIError(.forbidden, "this callback token is not for task \(report.taskId)")
        }

        let message = TaskResultMessage(
            report: report, attempt: attempt.attempt, receivedAt: Int64(Date().timeIntervalSince1970 * 1000))
        let outgoing = OutgoingMessage(
            exchange: topology.workExchange, routingKey: "review",
            body: Array(try JSONEncoder().encode(message)),
            properties: AMQPProperties(
                contentType: "application/json", persistent: true, priority: UInt8(clamping: attempt.priority),
                messageID: message.messageID, timestamp: UInt64(Date().timeIntervalSince1970),
                type: TaskResultMessage.type, appID: "bullpen-ingest",
                headers: [InboundMessage.attemptHeader: .int32(1)]))
        do {
            try await publisher.publish(outgoing)
        } catch {
            context.logger.warning("publish failed", metadata: ["error": "\(error)", "message.id": "\(message.messageID)"])
            throw APIError(.serviceUnavailable, "the message broker is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        return .json(.accepted, ["accepted": true, "messageId": message.messageID])
    }

    static func bearerToken(_ header: String?) throws -> String {
        guard let header, !header.isEmpty else {
            throw APIError(.unauthorized, "missing Authorization: Bearer <callback token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty, parts[1].count <= 512 else {
            throw APIError(.unauthorized, "the Authorization header must be 'Bearer <callback token>'",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        return String(parts[1])
    }
}

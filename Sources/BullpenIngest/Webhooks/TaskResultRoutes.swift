import BullpenDomain
import BullpenMessaging
import BullpenStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /webhooks/agents/task-result`: an agent reports its task's outcome.
///
/// The per-dispatch callback token (`Authorization: Bearer <token>`) identifies the task attempt; the body
/// is validated; the result is published to the review queue with a confirm, and only then is 202 returned.
/// - 202 again, publishing nothing, when the attempt already settled with this same report (its digest): the
///   agent's retry of a result that was applied (after a 503 or a lost answer) is an idempotent replay.
/// - 400: the body is wrong (the message names the field). 401: missing or unknown token, or an attempt
///   closed without a result (timed out, superseded). 403: the token is for another task. 409: the attempt
///   already settled with another report (the other outcome, or another output or error). 413: the body is too large. 415: not declared as JSON.
/// - 503: broker or database unavailable. The outcome is then unknown (the message may have reached the
///   queue before the connection broke): retrying the same request is always safe.
struct TaskResultRoutes {
    let publisher: ConfirmingPublisher
    let tokens: BatchingLookup<[UInt8], CallbackTokens.Attempt>
    let topology: Topology
    let maxBodyBytes: Int

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.add(middleware: JSONContentType())
        routes.post("task-result") { request, context in try await post(request, context: context) }
        return routes
    }

    func post(_ request: Request, context: some RequestContext) async throws -> Response {
        let token = try BearerToken.parse(request.headers[.authorization], naming: "callback token")
        let body = try await RequestBody.read(request, upTo: maxBodyBytes)

        let attempt: CallbackTokens.Attempt?
        do {
            attempt = try await tokens.value(for: Array(SHA256.hash(data: Array(token.utf8))))
        } catch {
            context.logger.error("token look-up failed", metadata: ["error": "\(error)"])
            throw APIError.database(error)
        }
        let settled = attempt?.outcome.flatMap(TaskResultReport.Outcome.init(rawValue:))
        guard let attempt, attempt.outcome == nil || settled != nil else {
            throw APIError(.unauthorized, "unknown or expired callback token", headers: [.wwwAuthenticate: "Bearer"])
        }

        let report: TaskResultReport
        do {
            report = try TaskResultReport.parse(body)
        } catch {
            throw APIError.invalid(error)
        }
        guard report.taskId == attempt.taskID else {
            throw APIError(.forbidden, "this callback token is not for task \(report.taskId)")
        }
        let messageID = TaskResultMessage.messageID(taskId: attempt.taskID, attempt: attempt.attempt)
        if let settled {
            guard settled == report.status else {
                throw APIError(
                    .conflict,
                    "task \(attempt.taskID) attempt \(attempt.attempt) already reported \(settled.rawValue); it cannot become \(report.status.rawValue)"
                )
            }
            if let applied = attempt.reportDigest, applied != Array(SHA256.hash(data: report.digestInput)) {
                throw APIError(
                    .conflict,
                    "task \(attempt.taskID) attempt \(attempt.attempt) already reported \(settled.rawValue) with another \(settled == .completed ? "output" : "error"); only the same report is a replay"
                )
            }
            context.logger.info(
                "result already applied; answering the replay", metadata: ["message.id": "\(messageID)"])
            return Self.accepted(messageID)
        }

        let message = TaskResultMessage(
            report: report, attempt: attempt.attempt, receivedAt: Int64(Date().timeIntervalSince1970 * 1000),
            priority: attempt.priority)
        try await publisher.publishConfirmed(message, topology: topology, what: "the result", logger: context.logger)
        return Self.accepted(messageID)
    }

    /// The one success answer, for a first report and for its replays alike.
    static func accepted(_ messageID: String) -> Response {
        .json(.accepted, Accepted(accepted: true, messageId: messageID))
    }

    struct Accepted: Codable, Equatable {
        let accepted: Bool
        let messageId: String
    }
}

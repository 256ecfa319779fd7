import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// `intake.submitted` (command queue): a brief from the public intake form becomes a lead, or a project in
/// intake when its address is an active client's (``LeadStore``); the sender is told it arrived and the
/// operators are told of it, in the same transaction. The same brief from the same address again is one lead
/// and one pair of emails.
public struct IntakeHandler: MessageHandler {
    public typealias Message = IntakeSubmission

    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    public func handle(
        _ message: IntakeSubmission, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        guard let recorded = try LeadStore.record(message, messageID: inbound.messageID, now: clock(), in: tx) else {
            return .duplicate
        }
        var data = [
            "name": message.name, "email": message.email, "brief": message.brief, "title": message.title,
            "leadId": "\(recorded.leadID)",
        ]
        data["company"] = message.company
        data["plan"] = message.plan?.rawValue
        data["clientId"] = recorded.clientID.map(String.init)
        data["projectId"] = recorded.projectID.map(String.init)
        let cause = "lead-\(recorded.leadID)"
        try Notify.enqueue(
            [
                Notify.email(
                    .intakeReceived, cause: cause, to: message.email, clientID: recorded.clientID,
                    projectID: recorded.projectID, data: data.filter { $0.key != "brief" }),
                Notify.operatorAlert(.newLead, cause: cause, taskID: nil, projectID: recorded.projectID, data: data),
            ], priority: 2, in: tx)
        return .applied
    }
}

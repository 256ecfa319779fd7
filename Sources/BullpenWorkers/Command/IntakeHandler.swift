import BullpenDomain
import BullpenMessaging
import BullpenStore
import Crypto
import Foundation
import PostgreSQL

/// `intake.submitted` (command queue): a brief from the public intake form becomes a lead (``LeadStore``); the
/// sender is told it arrived and the operators are told of it, in the same transaction. The same brief from
/// the same address again is one lead and one pair of emails.
///
/// An address is not an identity: when the brief names an active client's address, nothing is opened for the
/// client; the address is emailed a single-use link (24 h) to confirm the brief was theirs
/// (`intake-confirm`), and only that confirmation (``IntakeConfirmationHandler``) opens a project. The link's
/// token is random; the lead keeps its SHA-256, and the email's copy is dropped from the notification once it
/// is sent.
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
        var generator = SystemRandomNumberGenerator()
        let token = Hex.string((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        guard
            let recorded = try LeadStore.record(
                message, messageID: inbound.messageID, now: clock(),
                confirmTokenHash: Array(SHA256.hash(data: Array(token.utf8))), in: tx)
        else { return .duplicate }
        var data = [
            "name": message.name, "email": message.email, "brief": message.brief, "title": message.title,
            "leadId": "\(recorded.leadID)",
        ]
        data["company"] = message.company
        data["plan"] = message.plan?.rawValue
        let cause = "lead-\(recorded.leadID)"
        var told = [Notify.operatorAlert(.newLead, cause: cause, taskID: nil, projectID: nil, data: data)]
        if recorded.clientID == nil {
            told.append(
                Notify.email(
                    .intakeReceived, cause: cause, to: message.email, projectID: nil,
                    data: data.filter { $0.key != "brief" }))
        } else if recorded.confirmationAsked {
            var asked = data.filter { $0.key != "brief" }
            asked[NotificationStore.confirmPathKey] = Self.confirmPath(lead: recorded.leadID, token: token)
            told.append(Notify.email(.intakeConfirm, cause: cause, to: message.email, projectID: nil, data: asked))
        }
        try Notify.enqueue(told, priority: 2, in: tx)
        return .applied
    }

    /// The confirmation link's path (after the portal's base URL): ingest's confirmation page.
    static func confirmPath(lead: Int64, token: String) -> String {
        "/intake/confirm?lead=\(lead)&token=\(token)"
    }
}

/// `intake.confirmed` (command queue): the owner of an address confirmed a brief that named it; the brief
/// opens as a project of the client whose address it is (``LeadStore/confirm(_:messageID:now:in:)``), and the
/// client is told it is open (`intake-received`, with the project). A lead no longer waiting, an expired link
/// or a client no longer active changes nothing (the reason in the event log).
public struct IntakeConfirmationHandler: MessageHandler {
    public typealias Message = IntakeConfirmation

    let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    public func handle(
        _ message: IntakeConfirmation, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        guard let opened = try LeadStore.confirm(message.leadId, messageID: inbound.messageID, now: clock(), in: tx)
        else { return .applied }
        let data = [
            "name": opened.lead.name, "title": opened.lead.title, "leadId": "\(message.leadId)",
            "clientId": "\(opened.clientID)", "projectId": "\(opened.projectID)",
        ]
        try Notify.enqueue(
            Notify.email(
                .intakeReceived, cause: "lead-\(message.leadId)-confirmed", to: opened.lead.email,
                clientID: opened.clientID, projectID: opened.projectID, data: data), priority: 2, in: tx)
        return .applied
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// Applies operator commands (command queue): the effect, its events row and the command's status commit in one
/// transaction, with the inbox row the runtime adds.
///
/// A command that cannot apply to the rows as they are (``CommandRejection``: "task 42 is running, not
/// pending") is rejected: its effect is rolled back to a savepoint and the command row records the reason.
/// Retrying would give the same answer, so it is not retried. Any other failure (the database went away) is
/// the runtime's to retry.
public struct CommandHandler: MessageHandler {
    public typealias Message = CommandMessage

    public init() {}

    public func handle(
        _ message: CommandMessage, _ inbound: InboundMessage, in tx: PGConnection
    ) throws
        -> HandlerResult
    {
        switch try CommandStore.lock(id: message.commandId, in: tx) {
        case .some(let status) where status.isFinal:
            return .duplicate
        case .some:
            break
        case .none:
            try CommandStore.insertAccepted(
                CommandStore.Record(
                    id: message.commandId, kind: message.command.kind, tokenID: message.tokenId,
                    payload: String(decoding: try message.command.payloadJSON(), as: UTF8.self)),
                in: tx)
        }
        try tx.execute("SAVEPOINT command")
        do {
            let result = try Self.apply(
                message.command, clientID: message.clientId, messageID: inbound.messageID, now: Date(), in: tx)
            try tx.execute("RELEASE SAVEPOINT command")
            try CommandStore.markApplied(id: message.commandId, result: result, in: tx)
        } catch let rejection as CommandRejection {
            try tx.execute("ROLLBACK TO SAVEPOINT command")
            try CommandStore.markRejected(id: message.commandId, reason: rejection.reason, in: tx)
        } catch let error as PGError where error.isConstraintViolation {
            // A rule of the schema that validation did not foresee: the same rows give the same answer, so the
            // command is rejected (with the constraint's name), not parked or retried.
            try tx.execute("ROLLBACK TO SAVEPOINT command")
            try CommandStore.markRejected(
                id: message.commandId, reason: "the command breaks a rule of the database: \(error.constraintSummary)",
                in: tx)
        }
        return .applied
    }

    /// Applies one command (`clientID`: a client's, on its own rows) through its type's ``AppliedCommand``;
    /// returns its outcome as a JSON object's text (the ids it created or changed).
    static func apply(
        _ command: OperatorCommand, clientID: Int64? = nil, messageID: String, now: Date, in tx: PGConnection
    ) throws -> String {
        if clientID != nil, command.kind.issuers == .operators {
            throw CommandRejection("\(command.kind.rawValue) is not a client's command")
        }
        guard let applied = command.payload as? any AppliedCommand else {
            throw HandlerError.park(reason: "this worker cannot apply \(command.kind.rawValue)")
        }
        let context = CommandContext(clientID: clientID, messageID: messageID, now: now)
        return String(decoding: try applied.applyEncoded(context, in: tx), as: UTF8.self)
    }
}

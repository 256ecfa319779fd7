import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

extension NewClient: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        RowOutcome("clientId", try ClientStore.create(self, messageID: context.messageID, in: tx))
    }
}

extension ClientChanges: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try ClientStore.update(self, messageID: context.messageID, in: tx)
        return RowOutcome("clientId", id)
    }
}

extension LeadChanges: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try LeadStore.update(self, messageID: context.messageID, in: tx)
        return RowOutcome("leadId", id)
    }
}

import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

extension NewAgent: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        RowOutcome("agentId", try AgentStore.register(self, messageID: context.messageID, in: tx))
    }
}

extension AgentChanges: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try AgentStore.update(self, messageID: context.messageID, in: tx)
        return RowOutcome("agentId", id)
    }
}

extension AgentConfiguration: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        RowOutcome("agentConfigId", try AgentStore.configure(self, messageID: context.messageID, in: tx))
    }
}

extension AgentOffline: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try AgentStore.setOffline(self, messageID: context.messageID, in: tx)
        return RowOutcome("agentId", id)
    }
}

extension AgentStatusChange: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> RowOutcome {
        try AgentStore.setStatus(self, messageID: context.messageID, in: tx)
        return RowOutcome("agentId", id)
    }
}

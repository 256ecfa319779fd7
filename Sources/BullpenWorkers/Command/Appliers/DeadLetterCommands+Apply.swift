import BullpenDomain
import BullpenMessaging
import BullpenStore
import Foundation
import PostgreSQL

/// What a replay or a purge did: the ids it resolved, and those that were not parked.
struct DeadLetterOutcome: Encodable {
    let key: String
    let resolved: [Int64]
    let notParked: [Int64]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RowOutcome.Key.self)
        try container.encode(resolved, forKey: RowOutcome.Key(stringValue: key))
        try container.encode(notParked, forKey: RowOutcome.Key(stringValue: "notParked"))
    }
}

extension DeadLetterReplay: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> DeadLetterOutcome {
        let resolution = try DeadLetters.replay(ids: ids, now: context.now, in: tx)
        return DeadLetterOutcome(key: "replayed", resolved: resolution.resolved, notParked: resolution.notParked)
    }
}

extension DeadLetterPurge: AppliedCommand {
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> DeadLetterOutcome {
        let resolution = try DeadLetters.purge(ids: ids, queue: queue, in: tx)
        return DeadLetterOutcome(key: "purged", resolved: resolution.resolved, notParked: resolution.notParked)
    }
}

import BullpenDomain
import Foundation
import PostgreSQL

/// How one kind of command applies: each payload type of ``CommandCatalog`` conforms once (Appliers/), with
/// the effect and a typed outcome (the ids it created or changed) that the command's row records.
protocol AppliedCommand: CommandPayload {
    associatedtype Outcome: Encodable
    func apply(_ context: CommandContext, in tx: PGConnection) throws -> Outcome
}

/// What a command is applied with besides its payload.
struct CommandContext {
    /// Set when a client issued it: the client whose rows it may touch.
    let clientID: Int64?
    let messageID: String
    let now: Date
}

extension AppliedCommand {
    /// Applies it and encodes its outcome as JSON.
    func applyEncoded(_ context: CommandContext, in tx: PGConnection) throws -> [UInt8] {
        try JSONBody.encode(try apply(context, in: tx))
    }
}

/// The outcome of a command on one row, or that made one: `{"<noun>Id": id}`.
struct RowOutcome: Encodable {
    let key: String
    let id: Int64

    init(_ key: String, _ id: Int64) {
        self.key = key
        self.id = id
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(id, forKey: Key(stringValue: key))
    }

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

/// `dead_letter.replay`: parked messages sent back to their work queues as attempt 1, once their cause is
/// fixed. At most ``maxIDs`` in one command (the CLI's `dlq replay --all` sends pages of them); ids that are no
/// longer parked are reported in the result, not refused.
public struct DeadLetterReplay: CommandPayload {
    public static let kind = CommandKind.deadLetterReplay
    public static let route = CommandRoute(.post, "/v1/dead-letters/replay")
    public static let maxIDs = 1000
    public var ids: [Int64]

    public init(ids: [Int64]) { self.ids = ids }

    public enum CodingKeys: String, CodingKey, CaseIterable { case ids }

    public func validate() throws(ValidationError) { try DeadLetterSelection.check(ids) }

    public var references: [Reference] { ids.map { Reference(.deadLetter, $0, field: "ids") } }
}

/// `dead_letter.purge`: gives up on parked messages, the named ones or every one of a queue. Their rows stay,
/// marked purged, for the record.
public struct DeadLetterPurge: CommandPayload {
    public static let kind = CommandKind.deadLetterPurge
    public static let route = CommandRoute(.post, "/v1/dead-letters/purge")
    public var ids: [Int64]?
    public var queue: WorkQueue?

    public init(ids: [Int64]? = nil, queue: WorkQueue? = nil) {
        self.ids = ids
        self.queue = queue
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case ids, queue }

    public func validate() throws(ValidationError) {
        guard (ids == nil) != (queue == nil) else {
            throw ValidationError(field: "", message: "send either ids or queue, not both and not neither")
        }
        if let ids { try DeadLetterSelection.check(ids) }
    }

    public var references: [Reference] { (ids ?? []).map { Reference(.deadLetter, $0, field: "ids") } }
}

enum DeadLetterSelection {
    static func check(_ ids: [Int64]) throws(ValidationError) {
        guard (1...DeadLetterReplay.maxIDs).contains(ids.count) else {
            throw ValidationError(field: "ids", message: "must hold 1 to \(DeadLetterReplay.maxIDs) ids")
        }
        guard ids.allSatisfy({ $0 > 0 }) else { throw ValidationError(field: "ids", message: "must be positive ids") }
        guard Set(ids).count == ids.count else {
            throw ValidationError(field: "ids", message: "must not name a dead letter twice")
        }
    }
}

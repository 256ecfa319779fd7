/// A kind of message that travels between Bullpen's processes. The type carries its own identity (as
/// swift-jobs' `JobParameters` does): its name (the AMQP `type` property), the work queue that carries it,
/// and the schema version of the JSON body this code writes and reads. Nothing else needs a string to find
/// it: the envelope, the outbox and the handler registry all start from the type.
///
/// ```swift
/// struct TaskResultMessage: BullpenMessage {
///     static let name = "task.result"
///     static let queue = WorkQueue.review
///     static let schemaVersion = 1
///     var schema: Int
///     var messageID: String { "task-result:\(taskId):\(attempt)" }
///     ...
/// }
/// ```
public protocol BullpenMessage: Codable, Sendable {
    /// The message type's name, sent as the AMQP `type` property: `task.result`.
    static var name: String { get }
    /// The work queue that carries this type.
    static var queue: WorkQueue { get }
    /// The body's schema version this code writes, and the only one it reads.
    static var schemaVersion: Int { get }
    /// The schema version the body was written with.
    var schema: Int { get }
    /// Deterministic wherever the source has an identity (a Stripe event, a task attempt, a command), so
    /// that a duplicate anywhere becomes a no-op downstream: it is the inbox key.
    var messageID: String { get }
    /// AMQP priority, 1 (background) ... 5 (revisions, critical); nil for none.
    var priority: Int? { get }
}

extension BullpenMessage {
    public var priority: Int? { nil }
}

/// What a client may see, decided here once and used by every read path (the read API, the event list, the
/// live stream and the pages). Operators see every row and event whole; a client sees its own rows only, and
/// of those only what is its to see: delivered work, its project's progress, its thread, its billing. Agents'
/// names and failures, reviewers' notes, undelivered content, costs and other tenants' volume stay with the
/// operators.
///
/// The rule for events is an allow-list: a new event type is the operators' until it is added here with the
/// words a client reads for it (an operator's event message may name an agent or quote an error, so a client
/// never gets it).
public enum ClientProjection {
    /// The event types a client sees (on its own client, projects and tasks), each with the sentence it reads.
    public static let events: [String: String] = [
        "client.created": "Your account was opened",
        "project.created": "A project was opened",
        "project.updated": "A project was updated",
        "project.active": "Work on a project is under way",
        "project.review": "A project's work is being reviewed",
        "project.delivered": "A project was delivered",
        "project.archived": "A project was archived",
        "task.created": "A task was planned",
        "task.started": "Work on a task started",
        "task.completed": "Work on a task finished; it is being reviewed",
        "task.cancelled": "A task was cancelled",
        "deliverable.delivered": "A deliverable was delivered",
        "deliverable.revision_requested": "A revision was requested",
        "deliverable.feedback": "Feedback was recorded",
        "message.client": "You wrote on a project's thread",
        "message.operator": "The agency wrote on a project's thread",
        "billing.checkout_completed": "Your plan was bought",
        "billing.invoice_paid": "An invoice was paid",
        "billing.payment_failed": "A payment failed",
        "billing.plan_changed": "Your plan changed",
        "billing.subscription_canceled": "Your subscription was canceled",
    ]

    /// The event types a client sees, sorted (for a query parameter).
    public static var eventTypes: [String] { events.keys.sorted() }

    /// The sentences of ``eventTypes``, in the same order.
    public static var eventWords: [String] { eventTypes.map { events[$0]! } }

    /// Whether a client sees events of this type.
    public static func sees(event type: String) -> Bool { events[type] != nil }

    /// The fields of an event a client reads: where it happened and what kind it was, never its id (ids
    /// count every tenant's events), its data or the operators' message.
    public static let eventFields = ["cursor", "type", "message", "occurredAt", "projectId", "taskId", "deliverableId"]

    /// The fields of a task a client reads: what the work is and how far it is. Not the agent it is assigned
    /// to, its attempts, its error or its raw result (the output is a client's only once a reviewed version of
    /// it is delivered, as a deliverable).
    public static let taskFields = [
        "id", "projectId", "title", "description", "status", "priority", "taskType", "createdAt", "startedAt",
        "completedAt", "dependsOn",
    ]

    /// The deliverable versions a client sees: those delivered to it (``DeliverableLifecycle`` marks them
    /// client-visible when delivered), never one in draft, review, approved-not-sent or rejected; and of those
    /// not the reviewer's notes.
    public static let deliverableHiddenFields = ["reviewNotes"]
}

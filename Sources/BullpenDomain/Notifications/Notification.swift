/// Where a notification goes.
public enum NotificationChannel: String, Sendable, Codable, CaseIterable {
    case email, slack, discord
}

/// Where a notification stands: written with its cause, then sent (with the provider's id), skipped (nowhere
/// to send it) or parked (with the provider's reason, until a replay).
public enum NotificationStatus: String, Choice {
    case pending, sent, skipped, parked
}

/// What a notification says: each kind has its templates (`Config/templates/<kind>.*.mustache`) and its
/// audience.
public enum NotificationKind: String, Choice {
    /// The operators: a run could not be started (parked after the last retry, or refused).
    case dispatchFailed = "dispatch-failed"
    /// The operators: a task failed with no retries left.
    case taskFailed = "task-failed"
    /// The operators: a deliverable version awaits review.
    case reviewWaiting = "review-waiting"
    /// The client: a deliverable was delivered, with a link to it.
    case deliverableReady = "deliverable-ready"
    /// The client: a revision of delivered work is under way.
    case revisionInProgress = "revision-in-progress"
    /// The operators: an SLA has under a fifth of its time left.
    case slaAtRisk = "sla-at-risk"
    /// The operators: an SLA's deadline passed.
    case slaBreached = "sla-breached"
    /// The operators: a client wrote on a project's thread.
    case clientMessage = "client-message"
    /// The client: the agency answered on the project's thread.
    case newMessage = "new-message"
    /// The client: its project was created and work is planned.
    case projectUnderway = "project-underway"
    /// The client (Pro and Scale plans): the week's work.
    case weeklyDigest = "weekly-digest"
    /// The client: its purchase went through; its first project is open.
    case welcome
    /// The client: an invoice was paid.
    case receipt
    /// The client: a payment failed; please update the payment method.
    case paymentFailed = "payment-failed"
    /// The operators: a client's payment failed or its subscription was canceled.
    case billingAlert = "billing-alert"
    /// The operators: a brief came in through the intake form.
    case newLead = "new-lead"
    /// The operators: a client sent a brief from the portal, which opened a project to plan.
    case newBrief = "new-brief"
    /// The operators: an agent went silent (nothing from it, or from the gateway about it, for too long) and
    /// was taken offline.
    case agentSilent = "agent-silent"
    /// The operators: a task has waited for its dispatch past its priority's target (the seed's 4.4).
    case dispatchLate = "dispatch-late"
    /// The operators: an agent's failure rate passed the threshold (``AgentHealth``).
    case agentFailing = "agent-failing"
    /// Whoever sent a brief through the intake form: it was received.
    case intakeReceived = "intake-received"
    /// The owner of an active client's address named by a brief through the form: confirm it was you, and the
    /// brief opens a project (the link is single-use and expires).
    case intakeConfirm = "intake-confirm"
    /// Whoever asked to sign in to the web (a client's contact or an operator), at that address: a single-use,
    /// expiring link.
    case signInLink = "sign-in-link"

    /// Who reads it.
    public var audience: Audience {
        switch self {
        case .dispatchFailed, .taskFailed, .reviewWaiting, .slaAtRisk, .slaBreached, .clientMessage, .billingAlert,
            .newLead, .newBrief, .agentSilent, .dispatchLate, .agentFailing:
            return .operators
        case .deliverableReady, .revisionInProgress, .newMessage, .projectUnderway, .weeklyDigest, .welcome, .receipt,
            .paymentFailed, .intakeReceived, .intakeConfirm, .signInLink:
            return .client
        }
    }

    public enum Audience: Sendable, Equatable {
        case operators
        case client
    }
}

/// Sends one notification (notify queue): the row it names holds what to send and to whom. Its id is the
/// notification's, so the message written twice is applied once.
public struct NotificationMessage: BullpenMessage, Equatable {
    public static let name = "notification.send"
    public static let queue = WorkQueue.notify
    public static let schemaVersion = 1

    public var schema: Int
    public var notificationId: Int64
    public var notificationPriority: Int

    public init(notificationId: Int64, priority: Int) {
        schema = Self.schemaVersion
        self.notificationId = notificationId
        notificationPriority = priority
    }

    public var messageID: String { "notification:\(notificationId)" }
    public var priority: Int? { notificationPriority }
}

import BullpenMessaging
import Foundation
import PostgreSQL

/// The seed plan's scheduled jobs. Registered now so the scheduler runs them once per tick; their logic
/// comes with the workflows (SLA monitor, heartbeat check, retention, billing snapshot, weekly rollup,
/// auto-dispatch). Until then each is an explicit no-op.
public struct NoOpJob: ScheduledJob {
    public let name: String

    public init(name: String) {
        self.name = name
    }

    public func run(tick: Date, in transaction: PGConnection) throws {}
}

public enum Jobs {
    public static let all: [any ScheduledJob] = [
        "sla-monitor", "heartbeat-check", "auto-dispatch", "events-retention", "billing-snapshot", "weekly-rollup",
    ].map(NoOpJob.init(name:))
}

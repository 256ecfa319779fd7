import Foundation

/// How long Bullpen keeps what it no longer needs (`Config/retention.json`), and the rule that keeps
/// exactly-once: a message's inbox row, its memory of having been applied, outlives every way the same
/// message can come again. Brokers redeliver within minutes, retry tiers wait at most an hour, Stripe retries
/// a webhook for three days; so the inbox keeps a row `inboxDays` (at least 7), and a message id with a
/// parked copy is kept for as long as that copy is parked (a replay can come any day).
public struct RetentionPolicy: Sendable, Equatable, Codable {
    /// Events (the audit log), by when they happened. The seed keeps 90 days.
    public var eventsDays: Int
    /// Applied messages' ids, by when they were applied; never while a copy of the message is parked.
    public var inboxDays: Int
    /// Outbox rows already published, by when they were sent; unsent rows are never pruned.
    public var outboxDays: Int
    /// Notifications sent or skipped, by when they were written; pending and parked ones stay.
    public var notificationsDays: Int
    /// Finished scheduled-job runs, by their tick.
    public var cronRunsDays: Int
    /// Dead letters replayed or purged, by when that happened; parked ones stay until an operator acts.
    public var deadLettersDays: Int
    /// Sign-in links, by when they expired.
    public var signInLinksDays: Int
    /// Rows deleted per statement, and the pause between statements, so that pruning never holds the
    /// workers up.
    public var batchRows: Int
    public var pauseMilliseconds: Int

    /// The longest a message can come again after it was applied (Stripe's three days of retries, with
    /// margin): the inbox may not forget sooner.
    public static let shortestInboxDays = 7

    public static let defaults = RetentionPolicy(
        eventsDays: 90, inboxDays: 30, outboxDays: 7, notificationsDays: 90, cronRunsDays: 30, deadLettersDays: 30,
        signInLinksDays: 30, batchRows: 2000, pauseMilliseconds: 20)

    public init(
        eventsDays: Int, inboxDays: Int, outboxDays: Int, notificationsDays: Int, cronRunsDays: Int,
        deadLettersDays: Int, signInLinksDays: Int, batchRows: Int, pauseMilliseconds: Int
    ) {
        self.eventsDays = eventsDays
        self.inboxDays = inboxDays
        self.outboxDays = outboxDays
        self.notificationsDays = notificationsDays
        self.cronRunsDays = cronRunsDays
        self.deadLettersDays = deadLettersDays
        self.signInLinksDays = signInLinksDays
        self.batchRows = batchRows
        self.pauseMilliseconds = pauseMilliseconds
    }

    /// Any of the fields; the others keep their defaults. Refused: a window under a day, an inbox window
    /// under ``shortestInboxDays``, batches outside 1...50,000, a pause outside 0...10,000 ms.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let fallback = Self.defaults
        func days(_ key: CodingKeys, _ value: Int) throws -> Int {
            let given = try container.decodeIfPresent(Int.self, forKey: key) ?? value
            guard given >= 1 else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "must be 1 or more")
            }
            return given
        }
        eventsDays = try days(.eventsDays, fallback.eventsDays)
        inboxDays = try days(.inboxDays, fallback.inboxDays)
        outboxDays = try days(.outboxDays, fallback.outboxDays)
        notificationsDays = try days(.notificationsDays, fallback.notificationsDays)
        cronRunsDays = try days(.cronRunsDays, fallback.cronRunsDays)
        deadLettersDays = try days(.deadLettersDays, fallback.deadLettersDays)
        signInLinksDays = try days(.signInLinksDays, fallback.signInLinksDays)
        batchRows = try container.decodeIfPresent(Int.self, forKey: .batchRows) ?? fallback.batchRows
        pauseMilliseconds =
            try container.decodeIfPresent(Int.self, forKey: .pauseMilliseconds) ?? fallback.pauseMilliseconds
        guard inboxDays >= Self.shortestInboxDays else {
            throw DecodingError.dataCorruptedError(
                forKey: .inboxDays, in: container,
                debugDescription:
                    "must be \(Self.shortestInboxDays) or more: a message can come again that long after it was applied (Stripe retries for three days)"
            )
        }
        guard (1...50_000).contains(batchRows) else {
            throw DecodingError.dataCorruptedError(
                forKey: .batchRows, in: container, debugDescription: "must be 1 to 50000")
        }
        guard (0...10_000).contains(pauseMilliseconds) else {
            throw DecodingError.dataCorruptedError(
                forKey: .pauseMilliseconds, in: container, debugDescription: "must be 0 to 10000")
        }
    }

    /// Reads the file; a missing file is the defaults.
    public static func load(from path: String) throws -> RetentionPolicy {
        guard let data = FileManager.default.contents(atPath: path) else { return .defaults }
        return try JSONDecoder().decode(RetentionPolicy.self, from: data)
    }

    /// What each table keeps, as of `now`: rows older than its cutoff go.
    public func cutoffs(now: Date) -> [RetainedTable: Date] {
        func ago(_ days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }
        return [
            .events: ago(eventsDays), .inbox: ago(inboxDays), .outbox: ago(outboxDays),
            .notifications: ago(notificationsDays), .cronRuns: ago(cronRunsDays), .deadLetters: ago(deadLettersDays),
            .signInLinks: ago(signInLinksDays),
        ]
    }
}

/// The tables retention prunes.
public enum RetainedTable: String, Sendable, CaseIterable, Codable {
    case events, inbox, outbox, notifications
    case cronRuns = "cron_runs"
    case deadLetters = "dead_letters"
    case signInLinks = "sign_in_links"
}

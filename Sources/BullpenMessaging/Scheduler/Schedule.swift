import Foundation

/// When each scheduled job runs, as read from `Config/schedule.json`.
public struct Schedule: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var name: String
        /// The tick length: the job runs once per `everySeconds`-aligned tick, cluster-wide.
        public var everySeconds: Int
        /// When in its interval a daily or weekly job runs (UTC): `"02:00"` for a daily one, `"monday 02:00"`
        /// for a weekly one; none: at the interval's start counted from the epoch (midnight UTC for a day).
        public var at: String?

        public init(name: String, everySeconds: Int, at: String? = nil) {
            self.name = name
            self.everySeconds = everySeconds
            self.at = at
        }

        /// Seconds from an epoch-aligned tick's start to this job's (0 without `at`); nil when `at` is not a
        /// time of day (daily) or a weekday and a time (weekly).
        public var offsetSeconds: Int? {
            guard let at else { return 0 }
            let parts = at.lowercased().split(separator: " ")
            guard let clock = parts.last, parts.count <= 2 else { return nil }
            let hm = clock.split(separator: ":").compactMap { Int($0) }
            guard hm.count == 2, (0..<24).contains(hm[0]), (0..<60).contains(hm[1]) else { return nil }
            var offset = hm[0] * 3600 + hm[1] * 60
            if parts.count == 2 {
                // The epoch was a Thursday.
                let days = ["thursday", "friday", "saturday", "sunday", "monday", "tuesday", "wednesday"]
                guard everySeconds == 7 * 86_400, let day = days.firstIndex(of: String(parts[0])) else { return nil }
                offset += day * 86_400
            } else if everySeconds != 86_400 && everySeconds != 7 * 86_400 {
                return nil
            }
            return offset
        }
    }

    public var jobs: [Entry]

    public init(jobs: [Entry]) {
        self.jobs = jobs
    }

    public static func load(from path: String) throws -> Schedule {
        let schedule: Schedule
        do {
            schedule = try JSONDecoder().decode(Schedule.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ScheduleError(description: "cannot read the schedule \(path): \(error)")
        }
        for job in schedule.jobs where job.everySeconds < 1 {
            throw ScheduleError(description: "schedule \(path): job \(job.name) must run at most once a second")
        }
        for job in schedule.jobs where job.offsetSeconds == nil {
            throw ScheduleError(
                description:
                    "schedule \(path): job \(job.name)'s at \"\(job.at ?? "")\" must be \"HH:MM\" (a daily job) or \"monday HH:MM\" (a weekly one)"
            )
        }
        return schedule
    }

    /// The start of the tick that contains `date`, for a job of this interval (ticks are aligned to the epoch,
    /// shifted by `offsetSeconds`).
    public static func tick(containing date: Date, everySeconds: Int, offsetSeconds: Int = 0) -> Date {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) - offsetSeconds
        let start = seconds - ((seconds % everySeconds) + everySeconds) % everySeconds
        return Date(timeIntervalSince1970: Double(start + offsetSeconds))
    }
}

/// A schedule file is wrong, or names a job this binary does not have.
public struct ScheduleError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

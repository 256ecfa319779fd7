import Foundation

/// When each scheduled job runs, as read from `Config/schedule.json`.
public struct Schedule: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var name: String
        /// The tick length: the job runs once per `everySeconds`-aligned tick, cluster-wide.
        public var everySeconds: Int

        public init(name: String, everySeconds: Int) {
            self.name = name
            self.everySeconds = everySeconds
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
        return schedule
    }

    /// The start of the tick that contains `date`, for a job of this interval (ticks are aligned to the epoch).
    public static func tick(containing date: Date, everySeconds: Int) -> Date {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        return Date(timeIntervalSince1970: Double(seconds - seconds % everySeconds))
    }
}

/// A schedule file is wrong, or names a job this binary does not have.
public struct ScheduleError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

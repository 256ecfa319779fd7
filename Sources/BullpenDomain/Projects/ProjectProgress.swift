/// Where a project stands, from its work: pure. One place decides a project's status from what its tasks and
/// deliverable versions are doing, and the moves go through ``ProjectLifecycle`` only:
/// - intake: planned work, none started;
/// - active: work started (a task assigned or running), or open work that is not waiting for review;
/// - review: all open work waits for review (no task open, a version in draft, review or approved);
/// - delivered: everything delivered (no task open, nothing waiting, something delivered);
/// - archived stays archived, and nothing moves a project back to intake.
public enum ProjectProgress {
    /// A project's work, counted.
    public struct Work: Sendable, Equatable, Codable {
        /// Tasks planned and not started (pending).
        public var pending: Int
        /// Tasks assigned or running.
        public var started: Int
        /// Versions waiting for the operators (draft, review, approved but not yet delivered).
        public var awaiting: Int
        /// Versions delivered.
        public var delivered: Int

        public init(pending: Int = 0, started: Int = 0, awaiting: Int = 0, delivered: Int = 0) {
            self.pending = pending
            self.started = started
            self.awaiting = awaiting
            self.delivered = delivered
        }
    }

    /// The status the work says the project is in.
    public static func target(_ current: ProjectStatus, _ work: Work) -> ProjectStatus {
        switch current {
        case .archived: return .archived
        case .intake where work.started == 0 && work.awaiting == 0 && work.delivered == 0: return .intake
        default: break
        }
        if work.started > 0 || work.pending > 0 { return .active }
        if work.awaiting > 0 { return .review }
        if work.delivered > 0 { return .delivered }
        return current
    }

    /// The lifecycle's events that take a project from `current` to where its work says it is, in order; empty
    /// when it is there already, or when the lifecycle has no way there (it then stays).
    public static func moves(_ current: ProjectStatus, _ work: Work) -> [ProjectEvent] {
        let goal = target(current, work)
        guard goal != current else { return [] }
        // Breadth first over the lifecycle's moves (archiving is a command's, never the work's).
        let events: [ProjectEvent] = [.activate, .submitForReview, .deliver, .reopen]
        var paths: [ProjectStatus: [ProjectEvent]] = [current: []]
        var frontier = [current]
        while !frontier.isEmpty {
            var next: [ProjectStatus] = []
            for status in frontier {
                for event in events {
                    guard case .success(let reached) = ProjectLifecycle.next(from: status, on: event),
                        paths[reached] == nil
                    else { continue }
                    paths[reached] = paths[status]! + [event]
                    if reached == goal { return paths[reached]! }
                    next.append(reached)
                }
            }
            frontier = next
        }
        return []
    }

    /// Where the lifecycle takes a project from `current` along ``moves(_:_:)``: `current` when it is there
    /// already or has no way there.
    public static func reached(_ current: ProjectStatus, _ work: Work) -> ProjectStatus {
        var status = current
        for event in moves(current, work) {
            guard case .success(let next) = ProjectLifecycle.next(from: status, on: event) else { break }
            status = next
        }
        return status
    }
}

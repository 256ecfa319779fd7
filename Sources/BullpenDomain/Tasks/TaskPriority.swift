import Foundation

/// A task's priority (1 background ... 5 critical), by the seed plan's rules: the plan's base priority (as the
/// project copied it from `Config/plans.json`: Scale 4, Pro 3, Sprint 2; internal work, with no plan, 1), revisions 5, reviews at least 4, and a deadline under
/// 24 hours at least 4, under 8 hours 5. An operator's override wins over all of them.
///
/// Deadlines move closer, so the rules are applied again when a task is dispatched (``atDispatch``), not only
/// when it is created.
public enum TaskPriority {
    public static let range = 1...5

    /// The priority by the rules alone, at `now`.
    public static func `default`(planPriority: Int?, taskType: TaskType?, deadline: Date?, now: Date) -> Int {
        var priority = planPriority ?? 1
        if taskType == .revision { priority = 5 }
        if taskType == .review { priority = max(priority, 4) }
        if let deadline {
            let hours = deadline.timeIntervalSince(now) / 3600
            if hours < 8 { priority = 5 } else if hours < 24 { priority = max(priority, 4) }
        }
        return priority
    }

    /// The AMQP priority of a dispatch: the operator's override when the dispatch command carries one;
    /// otherwise the rules at `now`, never below the priority the task was given (at creation, by the rules
    /// then or by the operator).
    public static func atDispatch(
        planPriority: Int?, taskType: TaskType?, deadline: Date?, taskPriority: Int, override: Int?, now: Date
    ) -> Int {
        if let override { return min(max(override, range.lowerBound), range.upperBound) }
        return max(
            taskPriority, `default`(planPriority: planPriority, taskType: taskType, deadline: deadline, now: now))
    }
}

import Foundation

/// A task's default priority (1 background ... 5 critical), by the seed plan's rules: the plan's priority
/// (Sprint 2, Pro 3, Scale 4; 3 without a plan), revisions 5, reviews at least 4, and a deadline under 24 hours
/// at least 4, under 8 hours 5.
public enum TaskPriority {
    public static func `default`(plan: Plan?, taskType: TaskType?, deadline: Date?, now: Date) -> Int {
        var priority = plan?.terms.priority ?? 3
        if taskType == .revision { priority = 5 }
        if taskType == .review { priority = max(priority, 4) }
        if let deadline {
            let hours = deadline.timeIntervalSince(now) / 3600
            if hours < 8 { priority = 5 } else if hours < 24 { priority = max(priority, 4) }
        }
        return priority
    }
}

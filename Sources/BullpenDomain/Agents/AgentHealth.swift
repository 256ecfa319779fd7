/// When an agent's failures are worth an operator's attention: a failure rate above `threshold` over at least
/// `minimumRuns` finished runs (fewer say little). The operators are told once each time an agent crosses it.
public enum AgentHealth {
    public static let threshold = 0.25
    public static let minimumRuns = 8

    public static func failing(completed: Int, failed: Int) -> Bool {
        let runs = completed + failed
        return runs >= minimumRuns && Double(failed) / Double(runs) > threshold
    }
}

/// The seed's dispatch targets per priority (section 4.4): how soon a task asked for must be dispatched.
/// Critical "immediately" is taken as five minutes (a queue and a free slot away); Background is best effort.
public enum DispatchTargets {
    /// Seconds from the dispatch request to the attempt's opening; nil for none.
    public static func seconds(priority: Int) -> Int? {
        switch priority {
        case 5...: return 5 * 60
        case 4: return 3600
        case 3: return 4 * 3600
        case 2: return 12 * 3600
        default: return nil
        }
    }

    /// The band's name in the seed's words.
    public static func label(priority: Int) -> String {
        switch priority {
        case 5...: return "Critical"
        case 4: return "High"
        case 3: return "Normal"
        case 2: return "Low"
        default: return "Background"
        }
    }

    /// The targets as SQL (`CASE` over `column`), made from ``seconds(priority:)``, so a query compares a wait
    /// with its band's target by the one table.
    public static func sql(_ column: String) -> String {
        let bands = (2...5).reversed().compactMap { priority in
            seconds(priority: priority).map { "WHEN \(column) \(priority == 5 ? ">=" : "=") \(priority) THEN \($0)" }
        }
        return "CASE " + bands.joined(separator: " ") + " END"
    }
}

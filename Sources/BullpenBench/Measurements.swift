import Foundation

/// Latency samples and their percentiles.
struct Latencies {
    private(set) var samples: [Double] = []  // milliseconds

    mutating func record(_ milliseconds: Double) { samples.append(milliseconds) }
    mutating func merge(_ other: Latencies) { samples += other.samples }

    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }

    var max: Double { samples.max() ?? 0 }
    var count: Int { samples.count }

    var summary: [String: Any] {
        ["p50_ms": round3(percentile(50)), "p99_ms": round3(percentile(99)), "max_ms": round3(max), "samples": count]
    }
}

func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

/// Prints one JSON object on a line: what ops/bench collects.
func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Seconds since the epoch, as a Double.
func wallClock() -> Double { Date().timeIntervalSince1970 }

/// A counter shared by load threads.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var merged = Latencies()
    private var failures: [String: Int] = [:]
    private var seconds: [String: Double] = [:]

    func take() -> Int {
        lock.withLock {
            defer { next += 1 }
            return next
        }
    }
    func add(_ latencies: Latencies) { lock.withLock { merged.merge(latencies) } }
    func fail(_ reason: String) { lock.withLock { failures[reason, default: 0] += 1 } }
    var latencies: Latencies { lock.withLock { merged } }
    var errors: [String: Int] { lock.withLock { failures } }
    /// Time spent in each named phase, summed over threads (seconds).
    func time(_ phase: String, _ elapsed: Double) { lock.withLock { seconds[phase, default: 0] += elapsed } }
    var phases: [String: Double] { lock.withLock { seconds } }
}

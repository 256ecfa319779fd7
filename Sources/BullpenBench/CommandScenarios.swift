import BullpenAPIClient
import Foundation
import HTTPClient

/// The operator API under load: commands accepted per second (closed loop), and the `--wait` round trip at
/// a fixed rate with the read API's latency beside it. Each prints one JSON line.
extension Scenarios {
    /// C threads, each with its own keep-alive connection, create tasks (`POST /v1/tasks`, each with an
    /// Idempotency-Key, as the CLI sends) for `seconds`. Counts 202s and their latency.
    func commands(baseURL: String, token: String, project: Int64, connections: Int, seconds: Double) {
        var result = closedLoop(connections: connections, seconds: seconds) { [salt] thread, i in
            HTTPClientRequest(
                method: "POST", url: baseURL + "/v1/tasks",
                headers: [
                    ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"),
                    ("Idempotency-Key", "\(salt)-\(thread)-\(i)"),
                ],
                body: Array(#"{"projectId": \#(project), "title": "Bench task \#(thread)-\#(i)"}"#.utf8),
                timeout: .seconds(10))
        }
        result["scenario"] = "commands"
        emit(result)
    }

    /// `rate` commands a second for `seconds`, each followed as `bullpen ... --wait` follows it (the same
    /// client), timed from its scheduled start to the answer that says applied. Meanwhile one thread reads
    /// a project (with its tasks) and a page of tasks, as a dashboard would, and its latency is reported too.
    func waitRoundTrip(baseURL: String, token: String, project: Int64, rate: Int, seconds: Int) {
        let client = APIClient(baseURL: baseURL, token: token)
        let total = rate * seconds
        let start = wallClock() + 0.5
        let tally = Tally()
        let reads = Tally()
        let group = DispatchGroup()
        let stop = wallClock() + 0.5 + Double(seconds)
        group.enter()
        Thread {
            defer { group.leave() }
            var latencies = Latencies()
            var i = 0
            while wallClock() < stop {
                i += 1
                let started = wallClock()
                let path = i % 2 == 0 ? "/v1/projects/\(project)" : "/v1/tasks?project=\(project)&limit=50"
                do {
                    _ = try client.get(path)
                    latencies.record((wallClock() - started) * 1000)
                } catch {
                    reads.fail("\(error)")
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            reads.add(latencies)
        }.start()
        for _ in 0..<32 {
            group.enter()
            Thread {
                defer { group.leave() }
                var latencies = Latencies()
                while true {
                    let i = tally.take()
                    guard i < total else { break }
                    let scheduled = start + Double(i) / Double(rate)
                    let wait = scheduled - wallClock()
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    do {
                        let (id, _) = try client.command(
                            "POST", "/v1/tasks", ["projectId": project, "title": "Waited task \(i)"],
                            idempotencyKey: "\(salt)-wait-\(i)")
                        let command = try client.wait(for: id, timeout: 30)
                        if command["status"] as? String == "applied" {
                            latencies.record((wallClock() - scheduled) * 1000)
                        } else {
                            tally.fail("rejected")
                        }
                    } catch {
                        tally.fail("\(error)")
                    }
                }
                tally.add(latencies)
            }.start()
        }
        group.wait()
        var result = tally.latencies.summary
        result["scenario"] = "wait"
        result["rate"] = rate
        result["seconds"] = seconds
        result["applied"] = tally.latencies.count
        result["errors"] = tally.errors
        result["reads"] = reads.latencies.summary
        result["read_errors"] = reads.errors
        emit(result)
    }
}

import AMQP
import BullpenDomain
import BullpenMessaging
import Foundation
import HTTPClient
import Logging
import PostgreSQL

/// g. Dispatch: N tasks waiting for one agent with room for all of them, their dispatch requests published
/// at once, a worker with C consumers claiming each and starting its run on the sandbox gateway (answering at
/// once; its runs do not end during the measurement).
extension Scenarios {
    /// N assigned tasks waiting for their dispatch, spread over agents of 64 slots each (the most an agent
    /// may have), with room for them all.
    func seedDispatch(tasks: Int, db: PGConnection) throws {
        try db.execute(
            "TRUNCATE inbox, events, task_attempts, time_entries, tasks, agents, projects, clients, outbox, dead_letters RESTART IDENTITY CASCADE"
        )
        try db.query(
            """
            WITH c AS (INSERT INTO clients (name, email) VALUES ('Bench', 'bench-dispatch@example.com') RETURNING id),
                 p AS (INSERT INTO projects (client_id, name, type, status, tier, priority)
                       SELECT id, 'Dispatch bench', 'content', 'active', 'pro', 3 FROM c RETURNING id),
                 a AS (INSERT INTO agents (name, status, specialization, max_concurrent_tasks)
                       SELECT 'bench-runner-' || n, 'online', 'writer', 64 FROM generate_series(1, ($1 + 63) / 64) AS n
                       RETURNING id),
                 numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM a)
            INSERT INTO tasks (title, status, project_id, assigned_agent_id, priority, task_type,
                               dispatch_requested_at, dispatch_priority)
            SELECT 'Bench task ' || g, 'assigned', p.id, numbered.id, 3, 'draft', now(), 3
              FROM generate_series(1, $1) AS g, p, numbered
             WHERE numbered.k = (g - 1) / 64
            """, [tasks])
    }

    /// Publishes the dispatch request of every waiting task, with confirms.
    func publishDispatches(db: PGConnection) throws {
        let ids: [Int64] = try db.query("SELECT id FROM tasks WHERE dispatch_requested_at IS NOT NULL ORDER BY id")
            .rows.map { try $0.decode("id") }
        try publishAll(
            ids.map { DispatchRequest(taskId: $0, cause: "bench", priority: 3) }, scenario: "publish-dispatches")
    }

    /// Publishes messages with confirms, 5,000 in flight at most; emits how many and the errors.
    func publishAll<Message: BullpenMessage>(_ messages: [Message], scenario: String) throws {
        let publisher = ConfirmingPublisher(configuration: amqp, logger: Logger(label: "bench"))
        publisher.start()
        defer { publisher.shutdown() }
        let group = DispatchGroup()
        let tally = Tally()
        for (index, message) in messages.enumerated() {
            group.enter()
            publisher.enqueue(try Envelope.outgoing(message, topology: topology, appID: "bullpen-bench")) { result in
                if case .failure(let error) = result { tally.fail("\(error)") }
                group.leave()
            }
            if index % 5000 == 4999 { group.wait() }
        }
        group.wait()
        emit(["scenario": scenario, "messages": messages.count, "errors": tally.errors])
    }

    /// Waits until every task runs; dispatches per second from the first claim to the last run accepted, the
    /// dispatch handlers' time per message (both kinds: the claim, the run start with its gateway round trip)
    /// from the worker's /metrics histogram, as the bucket bound that holds the 50th and 99th percentile, and
    /// the mean time per dispatch spent waiting for the gateway and spent by Bullpen itself.
    func awaitDispatch(tasks: Int, label: [String: Any], metricsURL: String, db: PGConnection) throws {
        let deadline = wallClock() + 600
        var running = 0
        while wallClock() < deadline {
            running = try db.query("SELECT count(*) AS n FROM tasks WHERE status = 'running'").first!.decode("n")
            if running >= tasks { break }
            // The span is taken from the rows' own times: polling seldom costs no precision, and keeps the
            // count (a scan of the running tasks) from competing with the worker.
            Thread.sleep(forTimeInterval: 0.5)
        }
        let span =
            try db.query(
                """
                SELECT extract(epoch FROM (SELECT max(started_at) FROM tasks) - (SELECT min(opened_at) FROM task_attempts))::float8 AS span
                """
            ).first!.decode("span", as: Double?.self) ?? 0
        var result = label
        result["scenario"] = "dispatch"
        result["dispatched"] = running
        result["seconds"] = round3(span)
        result["dispatched_per_s"] = span > 0 ? round3(Double(running) / span) : 0
        let metrics = String(decoding: try CurlClient.perform(HTTPClientRequest(url: metricsURL)).body, as: UTF8.self)
        let buckets = Self.histogram(metrics, name: "bullpen_handler_duration_seconds_bucket", queue: "dispatch")
        if let total = buckets.last?.count, total > 0 {
            result["handler_messages"] = total
            result["handler_p50_le_ms"] = buckets.first { Double($0.count) >= Double(total) * 0.5 }.map { $0.le * 1000 }
            result["handler_p99_le_ms"] = buckets.first { Double($0.count) >= Double(total) * 0.99 }.map {
                $0.le * 1000
            }
        }
        // Bullpen's own time per dispatch: the time both dispatch handlers took for it, less its share of the
        // wait for the gateway's answer (a mean, from the histograms' sums).
        let handlerSeconds = Self.sample(metrics, "bullpen_handler_duration_seconds_sum", queue: "dispatch")
        let gatewaySeconds = Self.sample(metrics, "bullpen_gateway_answer_seconds_sum", queue: nil)
        if running > 0, let handlerSeconds, let gatewaySeconds {
            result["gateway_wait_mean_ms"] = round3(gatewaySeconds * 1000 / Double(running))
            result["own_time_mean_ms"] = round3((handlerSeconds - gatewaySeconds) * 1000 / Double(running))
        }
        emit(result)
    }

    /// The value of one sample line (`name{labels} value`), for a queue's label or for a sample without one.
    static func sample(_ text: String, _ name: String, queue: String?) -> Double? {
        text.split(separator: "\n").first { line in
            line.hasPrefix(name) && (queue.map { line.contains("queue=\"\($0)\"") } ?? true)
        }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// The cumulative buckets of a Prometheus histogram for one queue, in order (le, count).
    static func histogram(_ text: String, name: String, queue: String) -> [(le: Double, count: Int)] {
        text.split(separator: "\n").compactMap { line -> (Double, Int)? in
            guard line.hasPrefix(name + "{"), line.contains("queue=\"\(queue)\""),
                let leStart = line.range(of: "le=\"")?.upperBound,
                let leEnd = line[leStart...].firstIndex(of: "\""),
                let count = line.split(separator: " ").last.flatMap({ Int(Double($0) ?? -1) })
            else { return nil }
            let le = line[leStart..<leEnd] == "+Inf" ? Double.infinity : Double(line[leStart..<leEnd]) ?? .infinity
            return (le, count)
        }.sorted { $0.0 < $1.0 }
    }
}

import AMQP
import BullpenDomain
import BullpenFixtures
import BullpenMessaging
import Foundation
import HTTPClient
import Logging
import PostgreSQL

/// The load generators and measurements behind ops/bench. Each prints one JSON line.
struct Scenarios {
    let amqp: AMQPConfiguration
    let postgres: PostgresConfiguration
    let topology: Topology
    let salt: String

    // MARK: a. Ingest (closed loop, C connections)

    /// C threads, each with its own keep-alive connection, post task results for `seconds`; tokens rotate
    /// over `tasks` tasks. Counts 202s (answered after the broker's confirm) and their latency.
    /// `name`: the scenario's name in the results (`ingest-paired` when it is the baseline of Stripe's).
    func ingest(url: String, connections: Int, seconds: Double, tasks: Int, firstTask: Int64, name: String = "ingest") {
        var result = closedLoop(connections: connections, seconds: seconds) { thread, i in
            request(url: url, index: (thread + i * connections) % tasks, firstTask: firstTask)
        }
        result["scenario"] = name
        emit(result)
    }

    /// C threads, each with its own keep-alive connection, send the requests `make(thread, i)` one after the
    /// other for `seconds`; the summary of the 202s' latency, the rate of 202s and the other answers.
    func closedLoop(
        connections: Int, seconds: Double, make: @escaping @Sendable (Int, Int) -> HTTPClientRequest
    ) -> [String: Any] {
        let tally = Tally()
        let deadline = wallClock() + seconds
        let group = DispatchGroup()
        for thread in 0..<connections {
            group.enter()
            Thread {
                defer { group.leave() }
                var latencies = Latencies()
                var i = 0
                while wallClock() < deadline {
                    let started = wallClock()
                    send(make(thread, i), tally: tally) { latencies.record((wallClock() - started) * 1000) }
                    i += 1
                }
                tally.add(latencies)
            }.start()
        }
        group.wait()
        var result = tally.latencies.summary
        result["connections"] = connections
        result["accepted_per_s"] = round3(Double(tally.latencies.count) / seconds)
        result["errors"] = tally.errors
        return result
    }

    /// Sends a request; calls `accepted` on a 2xx (a 202 from the task-result webhook, a 200 from Stripe's),
    /// counts anything else in `tally`'s errors.
    func send(_ request: HTTPClientRequest, tally: Tally, accepted: () -> Void) {
        do {
            let response = try CurlClient.perform(request)
            if (200..<300).contains(response.status) { accepted() } else { tally.fail("HTTP \(response.status)") }
        } catch {
            tally.fail("\(error)")
        }
    }

    func request(url: String, index: Int, firstTask: Int64) -> HTTPClientRequest {
        let task = firstTask + Int64(index)
        return HTTPClientRequest(
            method: "POST", url: url,
            headers: [
                ("Authorization", "Bearer \(BulkSeed.token(index, salt: salt))"), ("Content-Type", "application/json"),
            ],
            body: Array(
                #"{"taskId": \#(task), "status": "completed", "output": "Benchmark output for task \#(task)."}"#.utf8),
            timeout: .seconds(10))
    }

    // MARK: c. End to end (open loop, fixed rate)

    /// Sends `rate` requests per second for `seconds`, each for a task of its own, on a fixed schedule
    /// (latency counts from the scheduled time, so a stall is not hidden); then reads when each task's
    /// effect was written and reports request -> effect latency.
    func endToEnd(url: String, rate: Int, seconds: Int, firstTask: Int64, db: PGConnection) throws {
        let total = rate * seconds
        let start = wallClock() + 0.5
        let scheduled = (0..<total).map { start + Double($0) / Double(rate) }
        let tally = Tally()
        let group = DispatchGroup()
        let senders = 48
        for _ in 0..<senders {
            group.enter()
            Thread {
                defer { group.leave() }
                var latencies = Latencies()
                while true {
                    let i = tally.take()
                    guard i < total else { break }
                    let wait = scheduled[i] - wallClock()
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    send(request(url: url, index: i, firstTask: firstTask), tally: tally) {
                        latencies.record((wallClock() - scheduled[i]) * 1000)
                    }
                }
                tally.add(latencies)
            }.start()
        }
        group.wait()
        // Wait for the effects, then read their times from PostgreSQL (same clock, same machine).
        let deadline = wallClock() + 60
        while wallClock() < deadline {
            let done: Int = try db.query(
                "SELECT count(*) AS n FROM tasks WHERE id BETWEEN $1 AND $2 AND status = 'completed'",
                [firstTask, firstTask + Int64(total) - 1]
            ).first!.decode("n")
            if done == total { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        var effect = Latencies()
        let rows = try db.query(
            """
            SELECT id, extract(epoch FROM completed_at)::float8 AS at FROM tasks
             WHERE id BETWEEN $1 AND $2 AND status = 'completed'
            """, [firstTask, firstTask + Int64(total) - 1])
        for row in rows.rows {
            let id: Int64 = try row.decode("id")
            let at: Double = try row.decode("at")
            effect.record((at - scheduled[Int(id - firstTask)]) * 1000)
        }
        var result = effect.summary
        result["scenario"] = "e2e"
        result["rate"] = rate
        result["seconds"] = seconds
        result["sent"] = total
        result["applied"] = effect.count
        result["http"] = tally.latencies.summary
        result["errors"] = tally.errors
        emit(result)
    }

    // MARK: b. Drain preparation and measurement

    /// Publishes one result message per task to the review queue, with confirms.
    func publishResults(tasks: Int, firstTask: Int64) throws {
        let publisher = ConfirmingPublisher(configuration: amqp, logger: Logger(label: "bench"))
        publisher.start()
        defer { publisher.shutdown() }
        let started = wallClock()
        let group = DispatchGroup()
        let tally = Tally()
        for index in 0..<tasks {
            let task = firstTask + Int64(index)
            let message = TaskResultMessage(
                report: TaskResultReport(
                    taskId: task, status: .completed, output: "Benchmark output for task \(task)."),
                attempt: 1, receivedAt: 0, priority: 3)
            group.enter()
            publisher.enqueue(try Envelope.outgoing(message, topology: topology, appID: "bullpen-bench")) { result in
                if case .failure(let error) = result { tally.fail("\(error)") }
                group.leave()
            }
            if index % 5000 == 4999 { group.wait() }  // bounded memory in flight
        }
        group.wait()
        emit([
            "scenario": "publish-results", "messages": tasks, "per_s": round3(Double(tasks) / (wallClock() - started)),
            "errors": tally.errors,
        ])
    }

    /// Waits until `tasks` tasks are completed and reports the applied rate between the first and last effect.
    func awaitDrain(tasks: Int, label: [String: Any], db: PGConnection, timeout: Double = 600) throws {
        let (done, span) = try drained(tasks: tasks, db: db, timeout: timeout)
        var result = label
        // A label may name the scenario (retention's drains are figures of their own).
        result["scenario"] = label["scenario"] ?? "drain"
        result["applied"] = done
        result["seconds"] = round3(span)
        result["applied_per_s"] = span > 0 ? round3(Double(done) / span) : 0
        emit(result)
    }

    /// Waits until `tasks` results are applied (or `timeout` passes): how many were, and the seconds from the
    /// first effect to the last.
    func drained(tasks: Int, db: PGConnection, timeout: Double = 600) throws -> (done: Int, span: Double) {
        let deadline = wallClock() + timeout
        var done = 0
        while wallClock() < deadline {
            done = try db.query("SELECT count(*) AS n FROM tasks WHERE status = 'completed'").first!.decode("n")
            if done >= tasks { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let span =
            try db.query(
                """
                SELECT extract(epoch FROM max(completed_at) - min(completed_at))::float8 AS span FROM tasks WHERE status = 'completed'
                """
            ).first!.decode("span", as: Double?.self) ?? 0
        return (done, span)
    }

    // MARK: d. Baselines on the project's own layers

    /// Raw persistent publishes with confirms, `window` outstanding at a time, to a queue of its own.
    func rawPublish(messages: Int, window: Int, queue: String) throws {
        let connection = try AMQPConnection(amqp)
        defer { connection.close() }
        try connection.openChannel(1)
        try connection.declareQueue(queue, durable: true)
        try connection.purgeQueue(queue)
        try connection.confirmSelect()
        var tracker = ConfirmTracker<Int>()
        let body = Array(String(repeating: "x", count: 160).utf8)
        let started = wallClock()
        var sent = 0
        var confirmed = 0
        while confirmed < messages {
            while sent < messages && tracker.outstandingCount < window {
                try connection.publish(
                    exchange: "", routingKey: queue, body: body, properties: AMQPProperties(messageID: "raw-\(sent)"),
                    channel: 1)
                tracker.published(messageID: nil, token: sent)
                sent += 1
            }
            if let event = try connection.nextEvent(timeout: .milliseconds(100)),
                case .publisherAck(_, let tag, let multiple) = event
            {
                confirmed += tracker.ack(deliveryTag: tag, multiple: multiple).count
            }
        }
        emit([
            "scenario": "raw-publish", "messages": messages, "window": window,
            "per_s": round3(Double(messages) / (wallClock() - started)),
        ])
    }

    /// Raw consume and ack (one ack per message) of everything in `queue`.
    func rawConsume(messages: Int, prefetch: UInt16, queue: String) throws {
        let connection = try AMQPConnection(amqp)
        defer { connection.close() }
        try connection.openChannel(1)
        try connection.setPrefetch(prefetch)
        try connection.consume(queue: queue)
        var received = 0
        var started: Double?
        while received < messages {
            guard let event = try connection.nextEvent(timeout: .seconds(5)) else { break }
            if case .delivery(let delivery) = event {
                if started == nil { started = wallClock() }
                try connection.ack(deliveryTag: delivery.deliveryTag, channel: 1)
                received += 1
            }
        }
        let elapsed = wallClock() - (started ?? wallClock())
        emit([
            "scenario": "raw-consume", "messages": received, "prefetch": Int(prefetch),
            "per_s": elapsed > 0 ? round3(Double(received) / elapsed) : 0,
        ])
    }
}

import BullpenDomain
import Foundation
import HTTPClient
import PostgreSQL

/// h. Notify: N email notifications waiting (each its own recipient), their messages published at once, a
/// worker with 2 consumers rendering and sending each through the sandbox's Resend; plain (the stand-in
/// answers at once) and a storm (the stand-in answers the first third of the requests 429 with Retry-After).
extension Scenarios {
    func seedNotifications(_ count: Int, db: PGConnection) throws {
        try db.execute("TRUNCATE notifications, inbox, outbox, dead_letters RESTART IDENTITY")
        try db.query(
            """
            INSERT INTO notifications (key, kind, channel, recipient, data)
            SELECT 'bench:' || g || ':email', 'review-waiting', 'email', 'client-' || g || '@bench.test',
                   jsonb_build_object('deliverableId', g::text, 'taskId', g::text, 'version', '1',
                                      'title', 'Benchmark deliverable ' || g)
              FROM generate_series(1, $1) AS g
            """, [count])
    }

    func publishNotifications(db: PGConnection) throws {
        let ids: [Int64] = try db.query("SELECT id FROM notifications ORDER BY id").rows.map { try $0.decode("id") }
        try publishAll(
            ids.map { NotificationMessage(notificationId: $0, priority: 3) }, scenario: "publish-notifications")
    }

    /// Waits until every notification is sent or parked (10 minutes at most); notifications sent per second
    /// from the first send to the last, and what the stand-in received: requests, emails, and emails sent
    /// twice (the same idempotency key accepted twice) or not at all.
    func awaitNotifications(count: Int, label: [String: Any], outboundURL: String, db: PGConnection) throws {
        let deadline = wallClock() + 600
        var done = 0
        while wallClock() < deadline {
            done = try db.query("SELECT count(*) AS n FROM notifications WHERE status IN ('sent', 'parked')").first!
                .decode("n")
            if done >= count { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let row = try db.query(
            """
            SELECT count(*) FILTER (WHERE status = 'sent') AS sent, count(*) FILTER (WHERE status = 'parked') AS parked,
                   extract(epoch FROM max(sent_at) - min(sent_at))::float8 AS span
              FROM notifications
            """
        ).first!
        let sent: Int = try row.decode("sent")
        let span = try row.decode("span", as: Double?.self) ?? 0
        let state =
            try JSONSerialization.jsonObject(
                with: Data(try CurlClient.perform(HTTPClientRequest(url: outboundURL + "/sandbox/state")).body))
            as? [String: Any] ?? [:]
        let emails = state["emails"] as? [[String: Any]] ?? []
        let keys = emails.compactMap { $0["idempotencyKey"] as? String }
        var result = label
        result["scenario"] = "notify"
        result["notifications"] = count
        result["sent"] = sent
        result["parked"] = try row.decode("parked", as: Int.self)
        result["seconds"] = round3(span)
        result["sent_per_s"] = span > 0 ? round3(Double(sent) / span) : 0
        result["provider_requests"] = state["requests"] as? Int ?? 0
        result["emails_received"] = emails.count
        result["emails_twice"] = keys.count - Set(keys).count
        result["emails_missing"] = count - Set(keys).count
        emit(result)
    }
}

extension Scenarios {
    /// The baseline: N emails posted straight to the stand-in over libcurl by 2 threads, as fast as it
    /// answers (the provider's round trip with no queue, database or template).
    func rawEmails(url: String, count: Int) {
        let tally = Tally()
        let group = DispatchGroup()
        let start = wallClock()
        for thread in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                for n in stride(from: thread, to: count, by: 2) {
                    let body =
                        #"{"from":"Bench <bench@bullpen.test>","html":"<p>Benchmark</p>","subject":"Benchmark \#(n)","text":"Benchmark","to":["raw-\#(n)@bench.test"]}"#
                    let request = HTTPClientRequest(
                        method: "POST", url: url + "/emails",
                        headers: [
                            ("Authorization", "Bearer re_bench"), ("Content-Type", "application/json"),
                            ("Idempotency-Key", "raw:\(n)"),
                        ], body: Array(body.utf8))
                    do {
                        let response = try CurlClient.perform(request)
                        if response.status != 200 { tally.fail("HTTP \(response.status)") }
                    } catch { tally.fail("\(error)") }
                }
                group.leave()
            }
        }
        group.wait()
        let seconds = wallClock() - start
        emit([
            "scenario": "raw-emails", "emails": count, "seconds": round3(seconds),
            "sent_per_s": round3(Double(count) / seconds), "errors": tally.errors,
        ])
    }
}

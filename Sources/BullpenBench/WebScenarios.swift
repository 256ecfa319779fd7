import BullpenStore
import Foundation
import HTTPClient
import PostgreSQL
import Synchronization

/// g. The web under load while results flow: signed-in operators browsing the command center, the review
/// queue and project pages, and the result path's drain beside them.
extension Scenarios {
    /// Spreads the seeded tasks over `projects` projects of the bench client, and opens `sessions` operator web
    /// sessions; writes `{"sessions": [cookie secrets], "projects": [ids]}` to `file` (the secrets go nowhere
    /// else).
    func seedWeb(projects: Int, sessions: Int, file: String, db: PGConnection) throws {
        let client: Int64 = try db.query("SELECT min(id) AS id FROM clients").first!.decode("id")
        let first: Int64 = try db.query("SELECT min(id) AS id FROM projects").first!.decode("id")
        let more = try db.query(
            """
            INSERT INTO projects (client_id, name, type, status, tier)
            SELECT $1, 'Bench project ' || g, 'bench', 'active', 'pro' FROM generate_series(2, $2) g RETURNING id
            """, [client, projects]
        ).rows.map { try $0.decode("id", as: Int64.self) }
        let ids = [first] + more
        try db.query(
            "UPDATE tasks SET project_id = ($1::bigint[])[1 + (id % $2)]",
            [PGArray(ids.map(String.init)), ids.count])
        try db.execute("VACUUM ANALYZE tasks")
        let secrets = try (0..<sessions).map { index in
            try ApiTokens.create(
                name: "bench web \(index)", role: .operator, expiresAt: Date().addingTimeInterval(86400),
                webEmail: "bench-operator-\(index)@example.com", on: db
            ).secret
        }
        let data = try JSONSerialization.data(withJSONObject: ["sessions": secrets, "projects": ids])
        FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600])
        emit(["scenario": "web-seed", "projects": ids.count, "sessions": secrets.count])
    }

    /// `sessions` signed-in operators (0: none, the baseline) browse as people do: each loads the command
    /// center, the review queue and a project's page in turn, thinking `think` seconds on average between
    /// pages (uniform, half to one and a half times that), from a second before `tasks` results are
    /// published until the drain has applied them all; a worker (started by ops/bench) drains them. One line: the
    /// drain's rate and, with sessions, the pages' latency (all, and per page) and rate.
    func web(
        base: String, file: String, sessions: Int, tasks: Int, think: Double, firstTask: Int64, db: PGConnection
    ) throws {
        let seeded =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        let secrets = Array((seeded["sessions"] as! [String]).prefix(sessions))
        let projects = (seeded["projects"] as! [NSNumber]).map(\.int64Value)
        let pages = ["home": "/", "review": "/review", "project": "/projects/"]
        let stop = StopFlag()
        let tallies = Dictionary(uniqueKeysWithValues: pages.keys.map { ($0, Tally()) })
        let group = DispatchGroup()
        var loadStarted = wallClock()
        for (index, secret) in secrets.enumerated() {
            group.enter()
            Thread {
                defer { group.leave() }
                var latencies = Dictionary(uniqueKeysWithValues: pages.keys.map { ($0, Latencies()) })
                var i = index
                // Sessions start spread over one think time, as people who opened the console at different times.
                Thread.sleep(forTimeInterval: Double.random(in: 0..<max(think, 0.001)))
                while !stop.isSet {
                    let name = ["home", "review", "project"][i % 3]
                    let path = pages[name]! + (name == "project" ? String(projects[(i / 3) % projects.count]) : "")
                    let request = HTTPClientRequest(
                        url: base + path, headers: [("Cookie", "bullpen_session=\(secret)")], timeout: .seconds(10))
                    let started = wallClock()
                    do {
                        let response = try CurlClient.perform(request)
                        if response.status == 200 {
                            latencies[name]!.record((wallClock() - started) * 1000)
                        } else {
                            tallies[name]!.fail("HTTP \(response.status)")
                        }
                    } catch {
                        tallies[name]!.fail("\(error)")
                    }
                    i += 1
                    if think > 0 { Thread.sleep(forTimeInterval: Double.random(in: think * 0.5...think * 1.5)) }
                }
                for (name, samples) in latencies { tallies[name]!.add(samples) }
            }.start()
        }
        if sessions > 0 { Thread.sleep(forTimeInterval: 1) }
        loadStarted = wallClock()
        try publishResults(tasks: tasks, firstTask: firstTask)
        let (_, span) = try drained(tasks: tasks, db: db)
        let loadSeconds = wallClock() - loadStarted
        stop.set()
        group.wait()
        var result: [String: Any] = [
            "scenario": "web", "sessions": sessions, "tasks": tasks, "projects": projects.count, "think_s": think,
            "applied_per_s": span > 0 ? round3(Double(tasks) / span) : 0,
        ]
        if sessions > 0 {
            var all = Latencies()
            var perPage: [String: Any] = [:]
            var errors: [String: Int] = [:]
            for (name, tally) in tallies {
                all.merge(tally.latencies)
                perPage[name] = tally.latencies.summary
                errors.merge(tally.errors) { $0 + $1 }
            }
            result["pages"] = all.summary
            result["by_page"] = perPage
            result["pages_per_s"] = round3(Double(all.count) / loadSeconds)
            result["errors"] = errors
        }
        emit(result)
    }
}

/// Tells the load threads to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

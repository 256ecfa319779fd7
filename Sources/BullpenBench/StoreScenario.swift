import BullpenDomain
import BullpenStore
import BullpenWorkers
import Foundation
import PostgreSQL

extension Scenarios {
    // MARK: d. The result path's statements straight (a baseline)

    /// The review handler's own statements (its load, decision and plan), for batches of `batch` results on
    /// `clients` connections, each client a slice of the running tasks: no broker, no inbox, no worker.
    /// PostgreSQL's limit for the writes the drain makes; the drain's ratio to it is what the worker pool
    /// costs on top.
    func storeDrain(tasks: Int, firstTask: Int64, batch: Int, clients: Int) throws {
        let handler = TaskResultHandler(autoDispatch: false)
        let phases = ProcessInfo.processInfo.environment["BULLPEN_BENCH_PHASES"] == "1"
        let tally = Tally()
        let group = DispatchGroup()
        let perClient = tasks / clients
        let started = wallClock()
        for client in 0..<clients {
            group.enter()
            Thread { [postgres] in
                defer { group.leave() }
                do {
                    let db = try PGConnection(postgres)
                    let slice = (client * perClient)..<((client + 1) * perClient)
                    for start in stride(from: slice.lowerBound, to: slice.upperBound, by: batch) {
                        let results = (start..<min(start + batch, slice.upperBound)).map { index in
                            let task = firstTask + Int64(index)
                            return TaskResultMessage(
                                report: TaskResultReport(
                                    taskId: task, status: .completed, output: "Benchmark output for task \(task)."),
                                attempt: 1, receivedAt: 0, priority: 3)
                        }
                        if phases {
                            // The handler's steps, timed one by one (BULLPEN_BENCH_PHASES=1).
                            var t = wallClock()
                            func lap(_ name: String) {
                                let now = wallClock()
                                tally.time(name, now - t)
                                t = now
                            }
                            try db.execute("BEGIN")
                            lap("begin")
                            let snapshot = try ResultEffects.load(results, in: db)
                            lap("load")
                            let plan = ResultDecider.decide(results, snapshot)
                            let outbox = try TaskResultHandler.outbox(plan)
                            lap("decide")
                            try ResultEffects.perform(plan, outbox: outbox, in: db)
                            lap("perform")
                            try db.execute("COMMIT")
                            lap("commit")
                        } else {
                            try db.transaction { tx in try handler.apply(results, in: tx) }
                        }
                    }
                } catch {
                    tally.fail("\(error)")
                }
            }.start()
        }
        group.wait()
        let seconds = wallClock() - started
        emit([
            "scenario": "store", "batch": batch, "clients": clients, "results": perClient * clients,
            "applied_per_s": round3(Double(perClient * clients) / seconds), "errors": tally.errors,
            "ms_per_batch": tally.phases.mapValues { round3($0 * 1000 / Double(perClient * clients / batch)) },
        ])
    }
}

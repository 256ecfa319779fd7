import ArgumentParser

/// `bullpen status`: the work queues, their consumers (the workers, on every host) and what is parked.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Queues, their consumers and parked work, over the API.")
    @OptionGroup var api: APIOptions

    func run() throws {
        let queues = try api.client().get("/v1/queues")
        if api.json { return Output.printJSON(queues) }
        let rows = queues["data"] as? [[String: Any]] ?? []
        Output.table(
            ["queue", "ready", "consumers", "dead-lettered", "parked"],
            rows.map { row in ["name", "ready", "consumers", "deadLettered", "parked"].map { Output.text(row[$0]) } })
        let total = { (key: String) in rows.reduce(0) { $0 + ($1[key] as? Int ?? 0) } }
        print(
            "\n\(total("consumers")) consumers, \(total("ready")) messages waiting, \(total("parked")) parked"
                + (total("parked") > 0 ? " (see GET /v1/dead-letters, bullpen dlq)" : ""))
    }
}

import ArgumentParser
import BullpenDomain
import BullpenStore
import Foundation
import PostgreSQL

/// `bullpen analytics billing|weekly [--from --to] [--png FILE]` and `bullpen invoice list`.
struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "The agency's figures: daily billing snapshots and weekly rollups; --png charts them (gnuplot).",
        subcommands: [Billing.self, Weekly.self, Refresh.self])

    /// The jobs write the day and the week at their ticks; this writes them now (direct database access, like
    /// `migrate`).
    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write today's billing snapshot and this week's rollup now (direct database access).")
        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let db = try PGConnection(try connection.postgres())
            defer { db.close() }
            let now = Date()
            try db.transaction { tx in
                try AnalyticsStore.snapshot(day: now, in: tx)
                try AnalyticsStore.rollup(week: now, in: tx)
            }
            print(
                "wrote the billing snapshot of \(String(ISO8601DateFormatter().string(from: now).prefix(10))) and its week's rollup"
            )
        }
    }

    struct Range: ParsableArguments {
        @Option(help: "The first day, YYYY-MM-DD.") var from: String?
        @Option(help: "The last day, YYYY-MM-DD (default today).") var to: String?
        @Option(help: "Also draw a chart into this PNG file (needs gnuplot).") var png: String?
    }

    struct Billing: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "MRR, revenue, active subscriptions, new and churned clients per day (default: 90 days).")
        @OptionGroup var api: APIOptions
        @OptionGroup var range: Range

        func run() throws {
            let page = try api.client().get(
                Output.path("/v1/analytics/billing", [("from", range.from), ("to", range.to)]))
            let days = page["data"] as? [[String: Any]] ?? []
            Output.list(
                [
                    "data": days.map { day in
                        day.merging([
                            "mrr": Chart.dollars(day["mrrCents"]), "revenue": Chart.dollars(day["revenueCents"]),
                        ]) { $1 }
                    }
                ],
                api: api, columns: ["day", "mrr", "revenue", "activeSubscriptions", "newClients", "churnedClients"])
            if let png = range.png {
                try Chart.draw(
                    png, title: "MRR (USD)",
                    points: days.map { (Output.text($0["day"]), Double(Output.text($0["mrrCents"])).map { $0 / 100 }) })
            }
        }
    }

    struct Weekly: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliverables, turnaround, revisions, SLA compliance and ratings per week (default: 26 weeks).")
        @OptionGroup var api: APIOptions
        @OptionGroup var range: Range

        func run() throws {
            let page = try api.client().get(
                Output.path("/v1/analytics/weekly", [("from", range.from), ("to", range.to)]))
            let weeks = page["data"] as? [[String: Any]] ?? []
            Output.list(
                page, api: api,
                columns: [
                    "weekStart", "deliverablesDelivered", "avgTurnaroundHours", "revisionsPerDeliverable",
                    "slaCompliance",
                    "avgRating",
                ])
            if !api.json {
                for week in weeks {
                    for agent in week["agents"] as? [[String: Any]] ?? [] {
                        print(
                            "  \(Output.text(week["weekStart"])) \(Output.text(agent["name"])): \(Output.text(agent["completed"])) completed, "
                                + "\(Output.text(agent["failed"])) failed, cost \(Chart.dollars(agent["costCents"]))")
                    }
                    for client in week["clients"] as? [[String: Any]] ?? [] {
                        print(
                            "  \(Output.text(week["weekStart"])) client \(Output.text(client["name"])): \(Output.text(client["runs"])) runs, "
                                + "cost \(Chart.dollars(client["agentCostCents"])), paid \(Chart.dollars(client["revenueCents"])), "
                                + "margin \(Chart.dollars(client["marginCents"]))")
                    }
                }
            }
            if let png = range.png {
                try Chart.draw(
                    png, title: "Average turnaround, dispatch to delivery (hours)",
                    points: weeks.map {
                        (Output.text($0["weekStart"]), ($0["avgTurnaroundHours"] as? NSNumber)?.doubleValue)
                    })
            }
        }
    }
}

/// A line chart of a series by day, drawn by gnuplot into a PNG.
enum Chart {
    static func dollars(_ cents: Any?) -> String {
        guard let cents = (cents as? NSNumber)?.int64Value else { return "-" }
        return Money.format(cents, "usd")
    }

    static func draw(_ path: String, title: String, points: [(String, Double?)]) throws {
        let data = points.compactMap { day, value in value.map { "\(day) \($0)" } }.joined(separator: "\n")
        guard !data.isEmpty else { throw CLIFailure(.rejected, "nothing to chart: no figures in the range") }
        let script = """
            set terminal pngcairo size 900,420 noenhanced
            set output '\(path.replacingOccurrences(of: "'", with: ""))'
            set title '\(title)'
            set xdata time
            set timefmt '%Y-%m-%d'
            set format x '%Y-%m-%d'
            set xtics rotate by -30
            set grid
            set yrange [0:*]
            set format y '%g'
            set key off
            plot '-' using 1:2 with linespoints lw 2 pt 7
            \(data)
            e

            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gnuplot"]
        let input = Pipe()
        process.standardInput = input
        do { try process.run() } catch {
            throw CLIFailure(.serverError, "gnuplot could not be started (install gnuplot-nox): \(error)")
        }
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIFailure(.serverError, "gnuplot failed (status \(process.terminationStatus))")
        }
        print("chart: \(path)")
    }
}

/// `bullpen invoice list [--client]`: invoices (a client token: its own).
struct InvoiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice", abstract: "Invoices, as Stripe's events left them.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Invoices, oldest first.")
        @OptionGroup var api: APIOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this client's.") var client: Int64?

        func run() throws {
            Output.list(
                try api.client().get(
                    Output.path("/v1/invoices", page.query + [("client", client.map(String.init))])),
                api: api,
                columns: ["id", "clientId", "plan", "stripeInvoiceId", "status", "amountCents", "attempts", "paidAt"])
        }
    }
}

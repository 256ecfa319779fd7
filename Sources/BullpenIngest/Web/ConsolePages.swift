import BullpenStore
import Foundation
import Hummingbird

/// The console's pages about the agency's clients and money, operators only (404 for a client, as any page
/// it may not see): a client's account (its plan and billing state, SLA compliance, projects, invoices and
/// history), and the billing desk (MRR over time, payments that failed, subscriptions past due, renewals
/// coming up).
struct ConsolePages {
    let web: WebRoutes

    func add(to routes: RouteCollection<APIContext>) {
        routes.get("/clients/:id") { request, context in
            try await web.signedIn(request, context) { user in
                guard user.isOperator else { return web.notFound(user) }
                let id = try web.id(context)
                guard let json = try await web.read({ db in try ReadModel.clientAccount(id, on: db) }) else {
                    return web.notFound(user)
                }
                var values = WebRoutes.object(json)
                let client = values["client"] as? [String: Any] ?? [:]
                values["compliance"] = Self.percent((values["sla"] as? [String: Any])?["compliance"])
                return web.render("client", client["name"] as? String ?? "Client \(id)", values, user)
            }
        }
        routes.get("/billing") { request, context in
            try await web.signedIn(request, context) { user in
                guard user.isOperator else { return web.notFound(user) }
                let now = Date()
                let (desk, days) = try await web.read { db in
                    (
                        try ReadModel.billingDesk(now: now, on: db),
                        try AnalyticsStore.billing(from: now.addingTimeInterval(-365 * 86400), to: now, on: db)
                    )
                }
                var values = WebRoutes.object(desk)
                values["hasPastDue"] = !((values["pastDue"] as? [Any]) ?? []).isEmpty
                let series = (WebRoutes.object(days)["data"] as? [[String: Any]] ?? []).map {
                    (($0["day"] as? String) ?? "", (($0["mrrCents"] as? NSNumber)?.doubleValue ?? 0) / 100)
                }
                values["mrrChart"] = SVGChart.line(series, title: "MRR by day over the last year, in dollars")
                values["mrrNow"] = series.last.map { String(format: "$%.2f", $0.1) } ?? "-"
                return web.render("billing", "Billing", values, user)
            }
        }
    }

    /// A share as "92 %", or "-" for none.
    static func percent(_ value: Any?) -> String {
        (value as? NSNumber).map { "\(Int(($0.doubleValue * 100).rounded())) %" } ?? "-"
    }
}

import BullpenStore
import Foundation
import Hummingbird

/// `GET /v1/analytics/billing?from=&to=` (days; default the last 90) and `GET /v1/analytics/weekly?from=&to=`
/// (default the last 26 weeks): what the daily snapshot and weekly rollup jobs wrote. Operators only.
struct AnalyticsRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get("billing") { request, context in
            let (from, to) = try range(request, context, days: 90)
            return try await api.read("analytics") { db in try AnalyticsStore.billing(from: from, to: to, on: db) }
        }
        routes.get("weekly") { request, context in
            let (from, to) = try range(request, context, days: 26 * 7)
            return try await api.read("analytics") { db in try AnalyticsStore.weekly(from: from, to: to, on: db) }
        }
    }

    private func range(_ request: Request, _ context: APIContext, days: Int) throws -> (Date, Date) {
        try context.requireCaller().requireOperator("read analytics")
        let query = try ListQuery(request, filters: ["from", "to"], paged: false)
        let to = try query.day("to") ?? Date()
        let from = try query.day("from") ?? to.addingTimeInterval(-Double(days) * 86_400)
        guard from <= to else {
            throw APIError(.badRequest, "from must not be after to", code: "invalid_query", field: "from")
        }
        return (from, to)
    }
}

/// `GET /v1/invoices?client=`: invoices as Stripe's events left them (a client token: its own).
struct InvoiceRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["client"])
            let (page, client, viewer) = (
                try query.page, try query.integer("client"), try context.requireCaller().viewer
            )
            return try await api.read("page") { db in
                try AnalyticsStore.invoices(page, clientID: client, viewer: viewer, on: db).json
            }
        }
    }
}

/// `/v1/time-entries`: the time spent, by project, task, client and agent (operators only); an operator's own
/// time added (`time.add`).
struct TimeEntryRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            try context.requireCaller().requireOperator("read time entries")
            let query = try ListQuery(request, filters: ["project", "task", "client", "agent"])
            let (page, project, task, client, agent) = (
                try query.page, try query.integer("project"), try query.integer("task"), try query.integer("client"),
                try query.integer("agent")
            )
            return try await api.read("page") { db in
                try ReadModel.timeEntries(
                    page, projectID: project, taskID: task, clientID: client, agentID: agent, on: db
                ).json
            }
        }
        api.commands(of: "/v1/time-entries", on: routes)
    }
}

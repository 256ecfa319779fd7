import BullpenDomain
import BullpenStore
import Hummingbird

/// `/v1/clients`: list, show (with projects), create, update.
struct ClientRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["status"])
            let (page, status, viewer) = (
                try query.page, try query.choice("status", ClientStatus.self), try context.requireCaller().viewer
            )
            return try await api.read("page") { db in
                try ReadModel.clients(page, status: status, viewer: viewer, on: db).json
            }
        }
        api.show("client", on: routes, ReadModel.client)
        api.command(.clientCreate, .post, on: routes)
        api.command(.clientUpdate, .patch, ":id", on: routes)
    }
}

/// `/v1/projects`: list (by status, client), show (with tasks, deliverables, SLA records), create, update,
/// archive.
struct ProjectRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["status", "client"])
            let (page, status, client) = (
                try query.page, try query.choice("status", ProjectStatus.self), try query.integer("client")
            )
            let viewer = try context.requireCaller().viewer
            return try await api.read("page") { db in
                try ReadModel.projects(page, status: status, clientID: client, viewer: viewer, on: db).json
            }
        }
        api.show("project", on: routes, ReadModel.project)
        api.command(.projectCreate, .post, on: routes)
        api.command(.projectUpdate, .patch, ":id", on: routes)
        api.command(.projectArchive, .post, ":id/archive", on: routes)
    }
}

/// `/v1/tasks`: list (by status, project, agent), show (with attempts and events), create, assign, cancel.
struct TaskRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["status", "project", "agent"])
            let (page, status) = (try query.page, try query.choice("status", TaskStatus.self))
            let (project, agent) = (try query.integer("project"), try query.integer("agent"))
            let viewer = try context.requireCaller().viewer
            return try await api.read("page") { db in
                try ReadModel.tasks(page, status: status, projectID: project, agentID: agent, viewer: viewer, on: db)
                    .json
            }
        }
        api.show("task", on: routes, ReadModel.task)
        api.command(.taskCreate, .post, on: routes)
        api.command(.taskAssign, .post, ":id/assign", on: routes)
        api.command(.taskCancel, .post, ":id/cancel", on: routes)
    }
}

/// `/v1/agents` (operators only): list, register, update, set offline.
struct AgentRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            try context.requireCaller().requireOperator("list agents")
            let query = try ListQuery(request, filters: ["status"])
            let (page, status) = (try query.page, try query.choice("status", AgentStatus.self))
            return try await api.read("page") { db in try ReadModel.agents(page, status: status, on: db).json }
        }
        api.command(.agentRegister, .post, on: routes)
        api.command(.agentUpdate, .patch, ":id", on: routes)
        api.command(.agentSetOffline, .post, ":id/offline", on: routes)
    }
}

/// `GET /v1/commands/{id}` (operators only): accepted, applied (with its result) or rejected (with the reason).
struct CommandRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get(":id") { request, context in
            try context.requireCaller().requireOperator("read commands")
            guard let id = context.parameters.get("id"), id.hasPrefix("cmd_"), id.utf8.count <= 64 else {
                throw APIError(.notFound, "there is no command \(context.parameters.get("id")?.prefix(64) ?? "")")
            }
            return try await api.read("command \(id)") { db in try ReadModel.command(id, on: db) }
        }
    }
}

/// `GET /v1/events?after=` (an event id; or `cursor=`): the audit log, oldest first, what the caller may see.
struct EventRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["after"])
            let viewer = try context.requireCaller().viewer
            let limited = try query.page
            let after = try query.integer("after", 0...Int64.max)
            let page = after.map { PageRequest(after: $0, limit: limited.limit) } ?? limited
            return try await api.read("page") { db in try ReadModel.events(page, viewer: viewer, on: db).json }
        }
    }
}

import BullpenDomain
import BullpenStore
import Hummingbird

/// `/v1/clients`: list, show (with projects), create, update.
struct ClientRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["status", "email"])
            let (page, status, email, viewer) = (
                try query.page, try query.choice("status", ClientStatus.self), try query.text("email"),
                try context.requireCaller().viewer
            )
            return try await api.read("page") { db in
                try ReadModel.clients(page, status: status, email: email, viewer: viewer, on: db).json
            }
        }
        api.show("client", on: routes, ReadModel.client)
        api.commands(of: "/v1/clients", on: routes)
    }
}

/// `/v1/projects`: list (by status, client), show (with tasks, deliverables, SLA records), create, update,
/// archive; the thread with the client (read, post: a client on its own projects).
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
        api.commands(of: "/v1/projects", on: routes)
        routes.get(":id/messages") { request, context in
            let query = try ListQuery(request, filters: [])
            let (id, page, viewer) = (try request.pathID(context), try query.page, try context.requireCaller().viewer)
            return try await api.read("project \(id)") { db in
                try ReadModel.messages(page, projectID: id, viewer: viewer, on: db)?.json
            }
        }
    }
}

/// `/v1/tasks`: list (by status, project, agent), show (with attempts and events), create, split (many at
/// once, from a plan), assign, cancel, dispatch.
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
        routes.get(":id/explain") { request, context in
            try context.requireCaller().requireOperator("ask why a task is where it is")
            let id = try request.pathID(context)
            return try await api.read("task \(id)") { db in try TaskExplain.json(id, on: db) }
        }
        routes.get(":id/session") { request, context in
            let caller = try context.requireCaller()
            try caller.requireOperator("read a task's session")
            let id = try request.pathID(context)
            let limit = try ListQuery(request, filters: ["limit"], paged: false).integer("limit", 1...500) ?? 50
            return try await SessionReads(api: api).read(task: id, limit: Int(limit), caller: caller)
        }
        api.commands(of: "/v1/tasks", on: routes)
    }
}

/// `/v1/deliverables`: list (by status, project) and show (with its content), what the caller may see (a
/// client: what was delivered to it); the review decisions (operators): approve, deliver, ask for a revision
/// (a client too, on what was delivered to it), reject; the client's feedback and rating.
struct DeliverableRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["status", "project"])
            let (page, status, project) = (
                try query.page, try query.choice("status", DeliverableStatus.self), try query.integer("project")
            )
            let viewer = try context.requireCaller().viewer
            return try await api.read("page") { db in
                try ReadModel.deliverables(page, status: status, projectID: project, viewer: viewer, on: db).json
            }
        }
        api.show("deliverable", on: routes, ReadModel.deliverable)
        api.commands(of: "/v1/deliverables", on: routes)
        DeliverableFileRoutes(api: api).add(to: routes)
    }
}

/// `/v1/agents` (operators only): list, register, update, set offline, configure for a Scale client.
struct AgentRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            try context.requireCaller().requireOperator("list agents")
            let query = try ListQuery(request, filters: ["status"])
            let (page, status) = (try query.page, try query.choice("status", AgentStatus.self))
            return try await api.read("page") { db in try ReadModel.agents(page, status: status, on: db).json }
        }
        api.commands(of: "/v1/agents", on: routes)
    }
}

/// `/v1/leads` (operators only): the briefs that came through the public intake form, by status and email;
/// `PATCH /v1/leads/:id {status}` moves one on.
struct LeadRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            try context.requireCaller().requireOperator("read leads")
            let query = try ListQuery(request, filters: ["status", "email"])
            let (page, status, email) = (
                try query.page, try query.choice("status", LeadStatus.self), try query.text("email")
            )
            return try await api.read("page") { db in
                try ReadModel.leads(page, status: status, email: email, on: db).json
            }
        }
        api.commands(of: "/v1/leads", on: routes)
    }
}

/// `GET /v1/notifications` (operators only): every notification's state (pending, sent with the provider's
/// id, skipped, parked with the reason), by status, kind and task.
struct NotificationRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            try context.requireCaller().requireOperator("read notifications")
            let query = try ListQuery(request, filters: ["status", "kind", "task"])
            let (page, status, kind, task) = (
                try query.page, try query.choice("status", NotificationStatus.self),
                try query.choice("kind", NotificationKind.self), try query.integer("task")
            )
            return try await api.read("page") { db in
                try ReadModel.notifications(page, status: status, kind: kind, taskID: task, on: db).json
            }
        }
    }
}

/// `GET /v1/commands/{id}` (operators; a client token the commands it issued): accepted, applied (with its
/// result) or rejected (with the reason).
struct CommandRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get(":id") { request, context in
            let caller = try context.requireCaller()
            if caller.role != .client { try caller.requireOperator("read commands") }
            guard let id = context.parameters.get("id"), id.hasPrefix("cmd_"), id.utf8.count <= 64 else {
                throw APIError(.notFound, "there is no command \(context.parameters.get("id")?.prefix(64) ?? "")")
            }
            let issuedBy = caller.role == .client ? caller.tokenID : nil
            return try await api.read("command \(id)") { db in try ReadModel.command(id, issuedBy: issuedBy, on: db) }
        }
    }
}

/// `GET /v1/events?after=` (a cursor: an event's `cursor`, or a page's `nextCursor`; `0` or none: the
/// beginning): the audit log in feed order (``EventPosition``), what the caller may see, as it may see it.
/// Each event carries its cursor; `nextCursor` is the last one's when the page is full.
struct EventRoutes {
    let api: OperatorAPI

    func add(to routes: RouterGroup<APIContext>) {
        routes.get { request, context in
            let query = try ListQuery(request, filters: ["after"])
            let viewer = try context.requireCaller().viewer
            let limit = try query.integer("limit", 1...Int64(PageRequest.maxLimit)).map(Int.init) ?? 50
            let field = query.parameters["after"] == nil ? "cursor" : "after"
            let cursors = api.cursors
            guard let after = cursors.position(query.parameters[field] ?? "0", for: viewer) else {
                throw APIError(
                    .badRequest, "\(field) must be a cursor this API gave (an event's cursor), or 0 for the beginning",
                    code: "invalid_query", field: field)
            }
            return try await api.read("events") { db in
                let read = try ReadModel.events(after: after, limit: limit, viewer: viewer, on: db)
                let marked = read.events.map { ($0, cursors.cursor($0.position, for: viewer)) }
                let next = read.events.count == limit ? marked.last.map { "\"\($0.1)\"" } ?? "null" : "null"
                return "{\"data\":[" + marked.map { EventStreamRoute.withCursor($0.json, $1) }.joined(separator: ",")
                    + "],\"nextCursor\":" + next + "}"
            }
        }
    }
}

/// `/v1/queues` and `/v1/dead-letters` (operators only): how the work queues stand, what is parked, and the
/// commands that replay or purge parked messages.
struct QueueRoutes {
    let api: OperatorAPI
    let broker: BrokerInspector

    struct QueueState: Encodable {
        let name: String
        let ready: Int
        let consumers: Int
        let deadLettered: Int
        let parked: Int
    }

    func add(queues: RouterGroup<APIContext>, deadLetters: RouterGroup<APIContext>) {
        queues.get { request, context in
            try context.requireCaller().requireOperator("read the queues")
            _ = try ListQuery(request, filters: [], paged: false)
            let states: [BrokerInspector.QueueState]
            do { states = try await broker.queues() } catch { throw APIError.brokerUnavailable("the queues' state") }
            let parked: [String: Int]
            do { parked = try await api.database.run { db in try ReadModel.parkedCounts(on: db) } } catch {
                throw APIError.database(error)
            }
            return Response.json(
                .ok,
                [
                    "data": states.map {
                        QueueState(
                            name: $0.queue.rawValue, ready: $0.ready, consumers: $0.consumers,
                            deadLettered: $0.deadLettered,
                            parked: parked[$0.queue.rawValue] ?? 0)
                    }
                ])
        }
        deadLetters.get { request, context in
            try context.requireCaller().requireOperator("read dead letters")
            let query = try ListQuery(request, filters: ["queue"])
            let (page, queue) = (try query.page, try query.choice("queue", WorkQueue.self))
            return try await api.read("page") { db in try ReadModel.deadLetters(page, queue: queue, on: db).json }
        }
        deadLetters.get(":id") { request, context in
            try context.requireCaller().requireOperator("read dead letters")
            let id = try request.pathID(context)
            return try await api.read("dead letter \(id)") { db in try ReadModel.deadLetter(id, on: db) }
        }
        api.commands(of: "/v1/dead-letters", on: deadLetters)
    }
}

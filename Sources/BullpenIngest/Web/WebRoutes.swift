import BullpenDomain
import BullpenMessaging
import BullpenStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgreSQL

/// The client portal and the operator console: server-rendered pages on the paths the emails link to
/// (`/projects/{id}`, `/deliverables/{id}`). Each page reads through the API's read model, as the signed-in
/// person's viewer (a client sees what the API shows its token, an operator everything), and each form sends
/// the same command the API takes, through the same pipeline (``OperatorAPI/issue(_:key:caller:logger:)``):
/// one validation, one idempotency rule (the form's key), one audit trail (the session's token). A form
/// posts, and is answered with a redirect to the command's page, which shows its outcome. No page needs
/// JavaScript; `app.js` only adds live updates.
struct WebRoutes: Sendable {
    let api: OperatorAPI
    let database: DatabasePool
    let authenticator: WebAuthenticator
    let settings: WebSettings
    let feed: EventFeed
    /// Stripe and the plans, for a client's plan change (nil: no Stripe key, no plan change from the web).
    var checkout: IngestConfiguration.CheckoutSettings? = nil
    /// The operators' shared reads (the command center, the review queue), made at most once a second.
    let shared = SharedReads()
    var pages: WebPages { settings.pages }

    func collection() -> RouteCollection<APIContext> {
        let routes = RouteCollection(context: APIContext.self)
        routes.get("/static/:name") { request, context in
            guard let name = context.parameters.get("name"), let asset = pages.asset(name) else {
                return message(.notFound, "Not found", "There is no such file.", user: nil)
            }
            return asset
        }
        SignInPages(web: self).add(to: routes)
        PortalPages(web: self).add(to: routes)
        ConsolePages(web: self).add(to: routes)
        routes.get("/") { request, context in
            try await signedIn(request, context) { user in try await home(user) }
        }
        routes.get("/projects/:id") { request, context in
            try await signedIn(request, context) { user in
                try await project(try id(context), user, showAll: request.uri.queryParameters["all"] == "1")
            }
        }
        routes.get("/deliverables/:id") { request, context in
            try await signedIn(request, context) { user in try await deliverable(try id(context), user) }
        }
        routes.get("/tasks/:id") { request, context in
            try await signedIn(request, context) { user in
                guard user.isOperator else { return notFound(user) }
                return try await task(try id(context), user)
            }
        }
        routes.get("/invoices") { request, context in
            try await signedIn(request, context) { user in try await invoices(user) }
        }
        for (path, page) in [
            ("/agents", agents), ("/dead-letters", deadLetters), ("/analytics", analytics), ("/clients", clients),
        ]
            as [(String, @Sendable (WebUser) async throws -> Response)]
        {
            routes.get(RouterPath(path)) { request, context in
                try await signedIn(request, context) { user in
                    guard user.isOperator else { return notFound(user) }
                    return try await page(user)
                }
            }
        }
        for action in ["replay", "purge"] {
            routes.post("/dead-letters/:id/\(action)") { request, context in
                try await form(request, context) { user, id, form in
                    (
                        action == "replay"
                            ? OperatorCommand(DeadLetterReplay(ids: [id]))
                            : OperatorCommand(DeadLetterPurge(ids: [id])),
                        "/dead-letters"
                    )
                }
            }
        }
        routes.get("/review") { request, context in
            try await signedIn(request, context) { user in
                guard user.isOperator else { return notFound(user) }
                return try await review(user)
            }
        }
        // The signed-in person's event stream (what the API's stream shows its token), for app.js; it ends
        // within seconds of the session ending.
        routes.get("/web/events") { request, context in
            guard let user = try await authenticator.user(of: request), let secret = WebSession.secret(in: request)
            else { return message(.unauthorized, "Sign in", "Sign in to follow events.", user: nil) }
            let start = try await read { db in try ReadModel.feedHorizon(on: db) }
            return EventStreamRoute(api: api, feed: feed, tokens: authenticator.tokens).stream(
                from: start, viewer: user.caller.viewer, tokenHash: Array(SHA256.hash(data: Array(secret.utf8))),
                named: false)
        }
        routes.get("/commands/:id") { request, context in
            try await signedIn(request, context) { user in
                try await command(context.parameters.get("id") ?? "", back: request.uri.queryParameters["back"], user)
            }
        }
        // Forms: each the command the API takes at the matching route.
        routes.post("/projects/:id/messages") { request, context in
            try await form(request, context) { user, id, form in
                (OperatorCommand(ProjectMessage(id: id, body: form["body"] ?? "")), "/projects/\(id)")
            }
        }
        routes.post("/tasks/:id/messages") { request, context in
            try await form(request, context) { user, id, form in
                (OperatorCommand(TaskAgentMessage(id: id, message: form["message"] ?? "")), "/tasks/\(id)")
            }
        }
        routes.post("/tasks/:id/abort") { request, context in
            try await form(request, context) { user, id, form in
                let reason = form["reason"].flatMap { $0.isEmpty ? nil : $0 }
                return (OperatorCommand(TaskAbort(id: id, reason: reason)), "/tasks/\(id)")
            }
        }
        routes.get("/tasks/:id/session") { request, context in
            try await signedIn(request, context) { user in
                guard user.isOperator, let id = context.parameters.get("id").flatMap(Int64.init) else {
                    return notFound(user)
                }
                return try await taskSession(id, user)
            }
        }
        for (action, kind) in [
            ("approve", CommandKind.deliverableApprove), ("deliver", .deliverableDeliver),
            ("revision", .deliverableRequestRevision), ("reject", .deliverableReject),
            ("feedback", .deliverableFeedback),
        ] {
            routes.post("/deliverables/:id/\(action)") { request, context in
                try await form(request, context) { user, id, form in
                    (try Self.deliverableCommand(kind, id: id, form), "/deliverables/\(id)")
                }
            }
        }
        return routes
    }

    // MARK: pages

    func home(_ user: WebUser) async throws -> Response {
        if user.isOperator {
            let overview = try await shared.value("overview") {
                try await read { db in try ReadModel.overview(on: db) }
            }
            let review = try await reviewQueue()
            var values = Self.object(overview)
            values["review"] = review.items.prefix(20).map(Self.object)
            values["reviewCount"] = (values["deliverablesInReview"] as? Int) ?? review.items.count
            return render("home-operator", "Command center", values, user)
        }
        let clientID = user.caller.clientID ?? -1
        let (projects, subscriptions) = try await read { db in
            (
                try ReadModel.projects(
                    PageRequest(limit: 100), status: nil, clientID: nil, viewer: user.caller.viewer, on: db),
                try ReadModel.subscriptions(clientID: clientID, on: db)
            )
        }
        let plans = ((try? JSONSerialization.jsonObject(with: Data(subscriptions.utf8))) as? [[String: Any]] ?? [])
            .map(Self.humane).map { plan -> [String: Any] in
                var plan = plan
                let included = (plan["deliverablesIncluded"] as? NSNumber)?.intValue
                let used = (plan["deliverablesUsed"] as? NSNumber)?.intValue ?? 0
                plan["use"] =
                    included.map { "\(used) of \($0) deliverables this period" }
                    ?? "\(used) delivered this period (unlimited)"
                plan["percent"] = included.map { $0 == 0 ? 100 : min(100, used * 100 / $0) } ?? 0
                plan["limited"] = included != nil
                return plan
            }
        var values: [String: Any] = [
            "projects": projects.items.map(Self.object), "plans": plans, "formKey": Self.formKey(),
        ]
        if let catalog = checkout?.catalog {
            values["billing"] =
                [
                    "hasPlans": !plans.isEmpty,
                    "choices": catalog.plans.map { plan -> [String: Any] in
                        let amount = String(format: "%.2f", Double(plan.amountCents) / 100)
                        return [
                            "id": plan.id.rawValue, "name": plan.name,
                            "price": "\(amount) \(catalog.currency.uppercased())"
                                + (plan.interval.map { " a \($0)" } ?? " once"),
                        ]
                    },
                ] as [String: Any]
        }
        return render("home-client", "Your projects", values, user)
    }

    /// A project's page: its progress over all its tasks; its latest ``latestShown`` tasks and versions
    /// listed (a long project's whole list behind "show all", `?all=1`).
    func project(_ id: Int64, _ user: WebUser, showAll: Bool = false) async throws -> Response {
        let viewer = user.caller.viewer
        let latest = showAll ? nil : Self.latestShown
        guard let json = try await read({ db in try ReadModel.projectPage(id, latest: latest, viewer: viewer, on: db) })
        else {
            return notFound(user)
        }
        var values = Self.object(json)
        let total = (values["taskCount"] as? NSNumber)?.intValue ?? 0
        let done = (values["tasksDone"] as? NSNumber)?.intValue ?? 0
        let versions = (values["deliverableCount"] as? NSNumber)?.intValue ?? 0
        values["tasksTotal"] = latest.flatMap { total > $0 ? total : nil }
        values["deliverablesTotal"] = latest.flatMap { versions > $0 ? versions : nil }
        values["done"] = done
        values["total"] = total
        values["percent"] = total == 0 ? 0 : done * 100 / total
        values["hasRunning"] = !(values["running"] as? [Any] ?? []).isEmpty
        values["due"] = (values["slaRecords"] as? [[String: Any]] ?? []).filter {
            ["on_track", "at_risk", "breached"].contains($0["status"] as? String ?? "")
        }
        let messages = try await read { db in
            try ReadModel.messages(PageRequest(limit: 200), projectID: id, viewer: viewer, on: db)
        }
        values["messages"] = (messages?.items ?? []).map(Self.object)
        values["formKey"] = Self.formKey()
        return render("project", values["name"] as? String ?? "Project \(id)", values, user)
    }

    func deliverable(_ id: Int64, _ user: WebUser) async throws -> Response {
        let viewer = user.caller.viewer
        guard let json = try await read({ db in try ReadModel.deliverable(id, viewer: viewer, on: db) }) else {
            return notFound(user)
        }
        var values = Self.object(json)
        values["contentHTML"] = WebPages.markdown(values["content"] as? String ?? "")
        if let previous = (values["previousVersionId"] as? NSNumber)?.int64Value,
            let prior = try await read({ db in try ReadModel.deliverable(previous, viewer: viewer, on: db) })
        {
            var before = Self.object(prior)
            before["contentHTML"] = WebPages.markdown(before["content"] as? String ?? "")
            values["previous"] = before
        }
        // Its files, each with a signed download link (as the API lists them).
        let files = try await read { db in try DeliverableStore.files(of: id, viewer: viewer, on: db) } ?? []
        values["files"] = files.map { file -> [String: Any] in
            [
                "name": file.name, "contentType": file.contentType, "url": api.files.link(file.fileID, of: id).url,
                "size": ByteCountFormatter.string(fromByteCount: file.sizeBytes, countStyle: .file),
            ]
        }
        values["hasFiles"] = !files.isEmpty
        let projectID = (values["projectId"] as? NSNumber)?.int64Value ?? 0
        if let project = try await read({ db in try ReadModel.project(projectID, viewer: viewer, on: db) }) {
            let object = Self.object(project)
            values["projectName"] = object["name"]
            let limit = (object["maxRevisions"] as? NSNumber)?.intValue
            let used = (object["revisionCount"] as? NSNumber)?.intValue ?? 0
            if let limit {
                values["roundsLeft"] = max(0, limit - used)
                values["roundsLimit"] = limit
                values["noRoundsLeft"] = used >= limit
            }
        }
        let status = values["status"] as? String ?? ""
        values["inReview"] = status == "review"
        values["approved"] = status == "approved"
        values["delivered"] = status == "delivered"
        let rating = (values["clientRating"] as? NSNumber)?.intValue
        values["ratings"] = (1...5).map { value -> [String: Any] in
            ["value": value, "checked": rating.map { $0 == value } ?? false]
        }
        values["formKey"] = Self.formKey()
        return render("deliverable", values["title"] as? String ?? "Deliverable \(id)", values, user)
    }

    /// A task, for operators: why it is where it is (``TaskExplanation``), its dependencies and its events.
    func task(_ id: Int64, _ user: WebUser) async throws -> Response {
        let found = try await read { db -> (String, String)? in
            guard let task = try ReadModel.task(id, viewer: .operator, on: db),
                let explained = try TaskExplain.json(id, on: db)
            else { return nil }
            return (task, explained)
        }
        guard let (task, explained) = found else { return notFound(user) }
        var values = Self.object(task)
        values["reasons"] = Self.object(explained)["reasons"]
        values["hasDependencies"] = !((values["dependsOn"] as? [Any]) ?? []).isEmpty
        values["runs"] = ((values["attempts"] as? [[String: Any]]) ?? []).map(Self.run)
        values["hasRuns"] = !((values["attempts"] as? [Any]) ?? []).isEmpty
        values["running"] = values["status"] as? String == TaskStatus.running.rawValue
        values["formKey"] = Self.formKey()
        return render("task", values["title"] as? String ?? "Task \(id)", values, user)
    }

    /// A task's session on the gateway, read for an operator (and recorded as read).
    func taskSession(_ id: Int64, _ user: WebUser) async throws -> Response {
        let transcript: SessionReads.Transcript
        do {
            transcript = try await SessionReads(api: api).transcript(task: id, limit: 200, caller: user.caller)
        } catch let error as APIError {
            return message(error.status, "Task \(id)'s session", error.message, user: user)
        }
        let values: [String: Any] = [
            "id": id, "attempt": transcript.attempt, "sessionKey": transcript.sessionKey,
            "messages": transcript.messages.map { ["role": $0.role, "text": $0.text] },
        ]
        return render("task-session", "Task \(id)'s session", values, user)
    }

    /// An attempt as the task page shows it: what its run was asked to use, what the gateway says it used,
    /// its tokens and cost.
    static func run(_ attempt: [String: Any]) -> [String: Any] {
        var run = attempt
        let asked = attempt["asked"] as? [String: Any] ?? [:]
        var parts: [String] = []
        if let model = asked["model"] as? String { parts.append("model \(model)") }
        if let thinking = asked["thinking"] as? String { parts.append("thinking \(thinking)") }
        if let documents = asked["documents"] as? [String], !documents.isEmpty {
            parts.append("documents: " + documents.joined(separator: ", "))
        }
        run["askedText"] = parts.isEmpty ? "the agent's defaults" : parts.joined(separator: "; ")
        run["usedText"] = [attempt["usedProvider"] as? String, attempt["usedModel"] as? String].compactMap { $0 }
            .joined(separator: "/")
        if let usage = attempt["usage"] as? [String: Any] {
            let count = { (key: String) in (usage[key] as? NSNumber)?.intValue ?? 0 }
            run["tokensText"] = "\(count("input")) in, \(count("output")) out"
        }
        run["costText"] = (attempt["costCents"] as? NSNumber).map { String(format: "$%.4f", $0.doubleValue / 100) }
        return run
    }

    /// Invoices: a client's own, or (operators) every client's.
    func invoices(_ user: WebUser) async throws -> Response {
        let viewer = user.caller.viewer
        let page = try await read { db in
            try AnalyticsStore.invoices(PageRequest(limit: 200), clientID: nil, viewer: viewer, on: db)
        }
        return render("invoices", "Invoices", ["items": page.items.map(Self.object)], user)
    }

    /// The agents: state and its reason, what each runs, its record.
    func agents(_ user: WebUser) async throws -> Response {
        let now = Date()
        let (overview, page, details) = try await read { db in
            (
                try ReadModel.overview(on: db), try ReadModel.agents(PageRequest(limit: 200), status: nil, on: db),
                try ReadModel.agentDetails(now: now, on: db)
            )
        }
        let extra = Self.object(details)
        let load = Dictionary(
            (Self.object(overview)["agents"] as? [[String: Any]] ?? []).compactMap { agent -> (Int64, [String: Any])? in
                (agent["id"] as? NSNumber).map { ($0.int64Value, agent) }
            }
        ) { first, _ in first }
        let agents = page.items.map(Self.object).map { agent -> [String: Any] in
            var agent = agent
            let live = (agent["id"] as? NSNumber).flatMap { load[$0.int64Value] } ?? [:]
            agent["openRuns"] = live["openRuns"] ?? 0
            agent["failurePercent"] = Int((((live["failureRate"] as? NSNumber)?.doubleValue ?? 0) * 100).rounded())
            let more = (agent["id"] as? NSNumber).flatMap { extra[$0.stringValue] as? [String: Any] } ?? [:]
            agent["avgRun"] =
                (more["avgCompletionTimeMs"] as? NSNumber).map { String(format: "%.1f min", $0.doubleValue / 60000) }
                ?? "-"
            agent["timeWeek"] = String(
                format: "%.1f h", ((more["timeMsWeek"] as? NSNumber)?.doubleValue ?? 0) / 3_600_000)
            agent["costWeek"] = more["weekCostDollars"] ?? "-"
            agent["configs"] = more["configs"] ?? []
            return agent
        }
        return render("agents", "Agents", ["agents": agents], user)
    }

    /// The clients (plan, state, chat channels) and the intake form's leads, newest last.
    func clients(_ user: WebUser) async throws -> Response {
        let (clients, leads) = try await read { db in
            (
                try ReadModel.clients(PageRequest(limit: 200), status: nil, viewer: .operator, on: db),
                try ReadModel.leads(PageRequest(limit: 200), status: nil, email: nil, on: db)
            )
        }
        return render(
            "clients", "Clients", ["clients": clients.items.map(Self.object), "leads": leads.items.map(Self.object)],
            user)
    }

    /// Parked messages, each with replay and purge.
    func deadLetters(_ user: WebUser) async throws -> Response {
        let page = try await read { db in try ReadModel.deadLetters(PageRequest(limit: 200), queue: nil, on: db) }
        return render(
            "dead-letters", "Parked messages", ["items": page.items.map(Self.object), "formKey": Self.formKey()], user)
    }

    /// MRR over the last 90 days and the weeks' figures, charts drawn here as SVG.
    func analytics(_ user: WebUser) async throws -> Response {
        let now = Date()
        let (billing, weekly, dispatch, time) = try await read { db in
            (
                try AnalyticsStore.billing(from: now.addingTimeInterval(-90 * 86400), to: now, on: db),
                try AnalyticsStore.weekly(from: now.addingTimeInterval(-26 * 7 * 86400), to: now, on: db),
                try DispatchTargetStore.report(from: now.addingTimeInterval(-30 * 86400), to: now, on: db),
                try ReadModel.timeByClient(now: now, on: db)
            )
        }
        let hours = { (value: Any?) in String(format: "%.1f h", ((value as? NSNumber)?.doubleValue ?? 0) / 3_600_000) }
        let timeByClient = (Self.object(time)["clients"] as? [[String: Any]] ?? []).map { client -> [String: Any] in
            var client = client
            client["agentHours"] = hours(client["agentMs"])
            client["operatorHours"] = hours(client["operatorMs"])
            client["billableHours"] = hours(client["billableMs"])
            return client
        }
        func duration(_ seconds: Any?) -> String {
            guard let seconds = (seconds as? NSNumber)?.doubleValue else { return "-" }
            return seconds < 120
                ? String(format: "%.0f s", seconds)
                : seconds < 7200 ? String(format: "%.0f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
        }
        let bands = (Self.object(dispatch)["bands"] as? [[String: Any]] ?? []).map { band -> [String: Any] in
            var band = band
            band["target"] = band["targetSeconds"] is NSNull ? "best effort" : duration(band["targetSeconds"])
            band["p50"] = duration(band["p50Seconds"])
            band["p90"] = duration(band["p90Seconds"])
            return band
        }
        let days = Self.object(billing)["data"] as? [[String: Any]] ?? []
        let weeks = (Self.object(weekly)["data"] as? [[String: Any]] ?? []).map { week -> [String: Any] in
            var week = week
            week["turnaround"] =
                (week["avgTurnaroundHours"] as? NSNumber).map { String(format: "%.1f h", $0.doubleValue) } ?? "-"
            week["compliance"] = ConsolePages.percent(week["slaCompliance"])
            return week
        }
        let agents = (weeks.last?["agents"] as? [[String: Any]] ?? []).map { agent -> [String: Any] in
            var agent = agent
            agent["avgMinutes"] =
                (agent["avgDurationMs"] as? NSNumber).map { String(format: "%.1f min", $0.doubleValue / 60000) } ?? "-"
            return agent
        }
        let values: [String: Any] = [
            "mrrChart": SVGChart.line(
                days.map { (($0["day"] as? String) ?? "", (($0["mrrCents"] as? NSNumber)?.doubleValue ?? 0) / 100) },
                title: "MRR by day, in dollars"),
            "deliveredChart": SVGChart.line(
                weeks.map {
                    (($0["weekStart"] as? String) ?? "", ($0["deliverablesDelivered"] as? NSNumber)?.doubleValue ?? 0)
                },
                title: "Deliverables delivered by week"),
            "weeks": weeks, "agentsThisWeek": agents, "dispatchBands": bands, "timeByClient": timeByClient,
        ]
        return render("analytics", "Analytics", values, user)
    }

    /// The first 100 versions waiting for review, as every operator sees them (shared for a second).
    func reviewQueue() async throws -> Page {
        try await shared.value("review") {
            try await read { db in
                try ReadModel.deliverables(
                    PageRequest(limit: 100), status: "review", projectID: nil, viewer: .operator, on: db)
            }
        }
    }

    func review(_ user: WebUser) async throws -> Response {
        let page = try await reviewQueue()
        return render(
            "review", "Review queue", ["items": page.items.map(Self.object), "count": page.items.count], user)
    }

    func command(_ id: String, back: Substring?, _ user: WebUser) async throws -> Response {
        guard id.hasPrefix("cmd_"), id.utf8.count <= 64,
            let json = try await read({ db in try ReadModel.command(id, issuedBy: user.caller.tokenID, on: db) })
        else { return notFound(user) }
        var values = Self.object(json)
        let status = values["status"] as? String ?? "accepted"
        values["pending"] = status == "accepted"
        values["applied"] = status == "applied"
        values["rejected"] = status == "rejected" || status == "failed"
        values["back"] = back.map(String.init).flatMap(Self.localPath) ?? "/"
        return pages.response(
            "command", page("Command \(status)", values, user),
            headers: status == "accepted" ? [.init("Refresh")!: "1"] : [:])
    }

    // MARK: forms

    /// A form on one row: signed in, the form token checked, the form read; the command issued with the form's
    /// key (a form sent twice is one command), then a redirect to the command's page.
    func form(
        _ request: Request, _ context: APIContext,
        _ build: @escaping @Sendable (WebUser, Int64, [String: String]) throws -> (OperatorCommand, String)
    ) async throws -> Response {
        try await submit(request, context) { user, form in try build(user, try id(context), form) }
    }

    /// A signed-in person's form, its token checked: the page's answer, or "this form has expired".
    func checkedForm(
        _ request: Request, _ context: APIContext,
        _ answer: @escaping @Sendable (WebUser, [String: String]) async throws -> Response
    ) async throws -> Response {
        try await signedIn(request, context) { user in
            let form = try await Self.form(request)
            guard WebSession.formTokenHolds(form["csrf"], for: user) else {
                return message(
                    .forbidden, "This form has expired",
                    "The form was not sent from your signed-in page (or your session changed). Go back, reload the page and send it again.",
                    user: user)
            }
            return try await answer(user, form)
        }
    }

    /// A form that is a command: issued with the form's key (a form sent twice is one command), then a
    /// redirect to the command's page.
    func submit(
        _ request: Request, _ context: APIContext,
        _ build: @escaping @Sendable (WebUser, [String: String]) throws -> (OperatorCommand, String)
    ) async throws -> Response {
        try await checkedForm(request, context) { user, form in
            let (command, back) = try build(user, form)
            do {
                try command.payload.validate()
                try user.caller.requireIssuer(of: command.kind)
                let key = form["key"].flatMap { $0.isEmpty ? nil : "web:" + String($0.prefix(100)) }
                let (commandID, _) = try await api.issue(command, key: key, caller: user.caller, logger: context.logger)
                return Self.redirect("/commands/\(commandID)?back=\(back)")
            } catch let error as ValidationError {
                return message(
                    .unprocessableContent, "That did not go through", "\(error.field): \(error.message)", user: user)
            } catch let error as APIError
                where error.status != .serviceUnavailable && error.status != .internalServerError
            {
                return message(error.status, "That did not go through", error.message, user: user)
            }
        }
    }

    static func deliverableCommand(_ kind: CommandKind, id: Int64, _ form: [String: String]) throws -> OperatorCommand {
        let notes = form["notes"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        switch kind {
        case .deliverableApprove: return OperatorCommand(DeliverableApproval(id: id, notes: notes))
        case .deliverableDeliver: return OperatorCommand(DeliverableDelivery(id: id, notes: notes))
        case .deliverableRequestRevision: return OperatorCommand(DeliverableRevisionRequest(id: id, notes: notes ?? ""))
        case .deliverableReject: return OperatorCommand(DeliverableRejection(id: id, notes: notes ?? ""))
        default:
            return OperatorCommand(
                DeliverableFeedback(id: id, feedback: notes, rating: form["rating"].flatMap { Int($0) }))
        }
    }

    // MARK: support

    /// The page for a signed-in person; anyone else is sent to sign in, and back here after.
    func signedIn(
        _ request: Request, _ context: APIContext, _ body: @escaping @Sendable (WebUser) async throws -> Response
    ) async throws -> Response {
        let user: WebUser?
        do { user = try await authenticator.user(of: request) } catch {
            context.logger.error("web session look-up failed", metadata: ["error": "\(error)"])
            return message(
                .serviceUnavailable, "Try again in a moment", "Bullpen could not check your session.", user: nil)
        }
        guard let user else {
            let next = request.method == .get ? request.uri.path : "/"
            return Self.redirect(
                "/signin?next=" + WebSettings.queryValue(next))
        }
        do {
            return try await body(user)
        } catch let error as APIError {
            return message(error.status, "Something went wrong", error.message, user: user)
        }
    }

    @discardableResult
    func read<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        do { return try await database.run(body) } catch { throw APIError.database(error) }
    }

    func id(_ context: APIContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError(.notFound, "There is no such page.")
        }
        return id
    }

    /// The values every page has: its title, who is signed in, the form token.
    func page(_ title: String, _ values: [String: Any], _ user: WebUser?) -> [String: Any] {
        var values = values
        values["title"] = title
        if let user {
            values["user"] = ["email": user.email, "isOperator": user.isOperator, "csrf": user.csrf]
            values["csrf"] = user.csrf
        }
        return values
    }

    func render(_ name: String, _ title: String, _ values: [String: Any], _ user: WebUser?) -> Response {
        pages.response(name, page(title, values, user))
    }

    func message(_ status: HTTPResponse.Status, _ title: String, _ text: String, user: WebUser?) -> Response {
        pages.response("message", page(title, ["text": text], user), status: status)
    }

    func notFound(_ user: WebUser) -> Response {
        message(.notFound, "Not found", "There is no such page, or it is not yours to see.", user: user)
    }

    static func redirect(_ location: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: fields)
    }

    /// A path on this site only (`/...`, not `//host`): where a sign-in or a form may send a person back to.
    static func localPath(_ text: String) -> String? {
        let decoded = text.removingPercentEncoding ?? text
        guard decoded.hasPrefix("/"), !decoded.hasPrefix("//"), !decoded.contains("\\"),
            decoded.utf8.count <= 200, !decoded.contains(where: { $0.isNewline })
        else { return nil }
        return decoded
    }

    /// A read model's JSON object, its times as people read them ("2026-12-06 23:55 UTC"), its states' and
    /// kinds' underscores as spaces in `…Label` twins, and money in cents also as dollars (`…Dollars`).
    static func object(_ json: String) -> [String: Any] {
        humane((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:])
    }

    /// The read model's JSON as a page shows it: times as "2026-12-06 23:55 UTC", `status` and `type` with a
    /// label, cents as dollars; nested objects and lists of them likewise. Each value is cast once, and a list
    /// element by element (casting a whole `[Any]` to `[[String: Any]]` bridges it through Foundation, a third
    /// of a busy project page's time).
    static func humane(_ object: [String: Any]) -> [String: Any] {
        var result = object
        for (key, value) in object {
            switch value {
            case let text as String:
                if key.hasSuffix("At") || key == "deadline" || key.hasPrefix("period") {
                    result[key] = time(text)
                } else if key == "type" || key == "status" {
                    result[key + "Label"] = text.replacingOccurrences(of: "_", with: " ")
                }
            case let nested as [String: Any]:
                result[key] = humane(nested)
            case let list as [Any]:
                var objects: [[String: Any]] = []
                objects.reserveCapacity(list.count)
                for element in list {
                    guard let object = element as? [String: Any] else { break }
                    objects.append(humane(object))
                }
                if objects.count == list.count, !list.isEmpty { result[key] = objects }
            case let cents as NSNumber where key.hasSuffix("Cents"):
                result[key.dropLast(5) + "Dollars"] = String(format: "$%.2f", cents.doubleValue / 100)
            default:
                break
            }
        }
        return result
    }

    /// An ISO 8601 time as "2026-12-06 23:55 UTC"; anything else as it is.
    static func time(_ text: String) -> String {
        guard text.count >= 16, text.dropFirst(10).first == "T" else { return text }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }

    static func formKey() -> String { UUID().uuidString.lowercased() }

    /// How many of a project's tasks and versions its page lists before "show all".
    static let latestShown = 30

    /// A posted form's fields (`application/x-www-form-urlencoded`, at most 64 KiB: a message's text fits).
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await RequestBody.read(request, upTo: 64 * 1024)
        return IntakeConfirmRoutes.form(String(decoding: body, as: UTF8.self))
    }
}

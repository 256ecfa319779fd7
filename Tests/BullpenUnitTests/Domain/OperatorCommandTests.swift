import Foundation
import Testing

@testable import BullpenDomain

@Suite("Operator commands")
struct OperatorCommandTests {
    func parse(_ kind: CommandKind, _ json: String, pathID: Int64? = nil) -> Result<OperatorCommand, ValidationError> {
        Result { () throws(ValidationError) in try OperatorCommand.parse(kind, Array(json.utf8), pathID: pathID) }
    }

    @Test("a full task body decodes to its typed payload")
    func task() throws {
        let command = try parse(
            .taskCreate,
            #"{"projectId": 3, "title": "Draft", "taskType": "draft", "requiredSpecialization": "writer", "priority": 4, "dependsOn": [1, 2]}"#
        ).get()
        guard let task = command.payload as? NewTask else {
            Issue.record("\(command)")
            return
        }
        #expect(task.projectId == 3 && task.title == "Draft" && task.taskType == .draft)
        #expect(task.requiredSpecialization == .writer && task.priority == 4 && task.dependsOn == [1, 2])
        #expect(
            task.references == [
                Reference(.project, 3, field: "projectId"), Reference(.task, 1, field: "dependsOn[0]"),
                Reference(.task, 2, field: "dependsOn[1]"),
            ])
    }

    @Test("the path's id joins the body, and may not come in the body as well")
    func pathID() throws {
        guard let assignment = try parse(.taskAssign, #"{"agentId": 9}"#, pathID: 4).get().payload as? TaskAssignment
        else {
            Issue.record("not an assignment")
            return
        }
        #expect(assignment == TaskAssignment(id: 4, agentId: 9))
        guard case .failure(let error) = parse(.taskAssign, #"{"id": 5, "agentId": 9}"#, pathID: 4) else {
            Issue.record("accepted an id in the body")
            return
        }
        #expect(error.field == "id")
    }

    @Test(
        "each bad body names its field and says what is wrong",
        arguments: [
            (CommandKind.clientCreate, #"{"email": "a@b.co"}"#, "name", "is required"),
            (.clientCreate, #"{"name": "", "email": "a@b.co"}"#, "name", "must not be empty"),
            (.clientCreate, #"{"name": "A", "email": "a@b"}"#, "email", "must be an email address"),
            (
                .clientCreate, #"{"name": "A", "email": "a@b.co", "plan": "gold"}"#, "plan",
                "must be one of: sprint, pro, scale"
            ),
            (.clientCreate, #"{"name": 1, "email": "a@b.co"}"#, "name", "must be a string"),
            (
                .clientCreate, #"{"name": "A", "email": "a@b.co", "extra": true}"#, "extra",
                "is not a field of this request"
            ),
            (
                .projectCreate, #"{"clientId": 1, "name": "P", "type": "web", "tier": "pro", "deadline": "tomorrow"}"#,
                "deadline", "must be a time in ISO 8601 (2026-12-01T17:00:00Z)"
            ),
            (.taskCreate, #"{"projectId": 1, "title": "T", "priority": 6}"#, "priority", "must be between 1 and 5"),
            (.taskCreate, #"{"projectId": 1, "title": "T", "priority": 2.5}"#, "priority", "must be an integer"),
            (.taskCreate, #"{"projectId": 1, "title": "T", "dependsOn": [1.5]}"#, "dependsOn[0]", "must be an integer"),
            (
                .taskCreate, #"{"projectId": 1, "title": "T", "dependsOn": [1, 1]}"#, "dependsOn",
                "must not name a task twice"
            ),
            (.taskCreate, #"{"projectId": 1, "title": "T", "dependsOn": ["a"]}"#, "dependsOn[0]", "must be an integer"),
            (.taskCreate, #"{"projectId": 0, "title": "T"}"#, "projectId", "must be a positive id"),
            (
                .agentRegister, #"{"name": "a", "capabilities": ["flying"]}"#, "capabilities[0]",
                "must be one of: web_search, code_execution, image_generation, file_access"
            ),
            (.agentRegister, #"{"name": "a\u0000b"}"#, "name", "must not contain a NUL character (U+0000)"),
            (.agentRegister, #"{"name": "a", "soul": null}"#, "soul", "must not be null; leave the field out instead"),
            (
                .taskSplit, #"{"projectId": 1, "tasks": [{"key": "a", "title": "A", "priority": null}]}"#,
                "tasks[0].priority", "must not be null; leave the field out instead"
            ),
            (.taskDispatch, #"{"id": 1, "priority": 6}"#, "priority", "must be between 1 and 5"),
            (.taskDispatch, #"{"id": 1, "agentId": 0}"#, "agentId", "must be a positive id"),
            (.deadLetterReplay, #"{"ids": []}"#, "ids", "must hold 1 to 1000 ids"),
            (.deadLetterReplay, #"{"ids": [3, 3]}"#, "ids", "must not name a dead letter twice"),
            (.deadLetterReplay, #"{"ids": [-1]}"#, "ids", "must be positive ids"),
            (.deadLetterReplay, #"{"queue": "review"}"#, "queue", "is not a field of this request"),
            (
                .deadLetterPurge, #"{"ids": [1], "queue": "review"}"#, "",
                "send either ids or queue, not both and not neither"
            ),
            (.deadLetterPurge, "{}", "", "send either ids or queue, not both and not neither"),
            (.deadLetterPurge, #"{"queue": "mail"}"#, "queue", ""),
        ])
    func refused(kind: CommandKind, body: String, field: String, message: String) {
        guard case .failure(let error) = parse(kind, body) else {
            Issue.record("accepted \(body)")
            return
        }
        #expect(error.field == field, "\(body): \(error)")
        if !message.isEmpty { #expect(error.message == message, "\(body)") }
    }

    @Test("a change that changes nothing is refused")
    func emptyChange() {
        guard case .failure(let error) = parse(.clientUpdate, "{}", pathID: 1) else {
            Issue.record("accepted an empty change")
            return
        }
        #expect(error.field == "" && error.message.contains("changes nothing"))
    }

    @Test("a file's name is a name: no path, no control characters or quotes; its type one of the allowed")
    func fileNames() {
        func field(_ name: String, _ type: String = "text/plain") -> String? {
            let file = DeliverableFile(
                id: 1, fileId: "sha256-" + String(repeating: "a", count: 64), name: name, contentType: type,
                sizeBytes: 1)
            do { try file.validate() } catch { return error.field }
            return nil
        }
        #expect(field("report.pdf", "application/pdf") == nil)
        for bad in ["../etc/passwd", "a\\b", "..", "two\r\nlines.txt", "say \"hi\".txt", ""] {
            #expect(field(bad) == "name", "\(bad)")
        }
        #expect(field("run.exe", "application/x-msdownload") == "contentType")
    }

    @Test("a command message survives its JSON round trip, deadline and all")
    func roundTrip() throws {
        let command = try parse(
            .projectCreate,
            #"{"clientId": 2, "name": "P", "type": "web", "tier": "scale", "deadline": "2027-01-15T08:00:00Z", "tags": ["a"]}"#
        ).get()
        let message = CommandMessage(commandId: "cmd_1", tokenId: 7, command: command)
        let decoded = try JSONBody.decodeTrusted(CommandMessage.self, from: try JSONBody.encode(message))
        #expect(decoded == message)
        #expect(decoded.messageID == "command:cmd_1")
        #expect(CommandMessage.queue == .command)
        guard let project = decoded.command.payload as? NewProject else {
            Issue.record("\(decoded)")
            return
        }
        #expect(project.deadline?.date == ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z"))
        #expect(project.tier == .scale && project.tags == ["a"])
    }
}

@Suite("Plans and priorities")
struct PlanTests {
    static let catalog = try! PlanCatalog.load(from: Repository.root + "/Config/plans.json")

    @Test("Config/plans.json: the seed's prices, SLA hours, revisions, deliverables, priorities and custom agents")
    func terms() throws {
        let catalog = Self.catalog
        #expect(
            catalog[.sprint].terms
                == PlanTerms(
                    responseHours: 72, deliveryHours: 72, maxRevisions: 2, deliverablesIncluded: 1, priority: 2))
        #expect(catalog[.sprint].mode == .payment && catalog[.sprint].amountCents == 250_000)
        #expect(catalog[.pro].terms.maxRevisions == nil && catalog[.pro].terms.priority == 3)
        #expect(catalog[.pro].amountCents == 450_000 && catalog[.pro].interval == "month")
        #expect(catalog[.scale].terms.responseHours == 8 && catalog[.scale].terms.deliverablesIncluded == nil)
        #expect(catalog[.scale].customAgents && !catalog[.pro].customAgents)
        #expect(catalog.plan(priceID: "price_pro_monthly")?.id == .pro && catalog.plan(priceID: "price_x") == nil)
    }

    @Test(
        "a wrong plans file is refused with the field at fault",
        arguments: [
            (#"{"currency":"usd","plans":[]}"#, "plans must define the sprint plan"),
            (#"{"currency":"USD","plans":[]}"#, "currency must be a lowercase ISO 4217 code such as usd"),
            (#"{"currency":"usd"}"#, "plans is required: a list of plans"),
            (#"{"currency":"usd","plans":[{"id":"gold"}]}"#, "plans[0].id must be one of: sprint, pro, scale"),
        ])
    func invalidCatalog(text: String, message: String) {
        #expect(throws: ValidationError.self) { try PlanCatalog.parse(Array(text.utf8)) }
        do {
            _ = try PlanCatalog.parse(Array(text.utf8))
        } catch { #expect(error.description == message) }
    }

    @Test("each field of a plan is checked by name")
    func invalidPlanFields() throws {
        let base = try String(contentsOfFile: Repository.root + "/Config/plans.json", encoding: .utf8)
        func refusal(_ from: String, _ to: String) -> String? {
            let text = base.replacingOccurrences(of: from, with: to)
            #expect(text != base, "the substitution \(from) must apply")
            do {
                _ = try PlanCatalog.parse(Array(text.utf8))
                return nil
            } catch { return error.description }
        }
        #expect(
            refusal(#""deliverablesIncluded": 4"#, #""deliverablesIncluded": -1"#)
                == "plans[1].deliverablesIncluded must be 0 to 10000 or null")
        #expect(refusal(#""basePriority": 4"#, #""basePriority": 9"#) == "plans[2].basePriority must be 1 to 5")
        #expect(
            refusal(#""stripePriceId": "price_pro_monthly""#, #""stripePriceId": "price_sprint""#)
                == "plans[1].stripePriceId price_sprint is used by two plans")
        #expect(
            refusal(#""mode": "payment""#, #""mode": "monthly""#)
                == "plans[0].mode must be one of: payment, subscription")
        #expect(
            refusal(#""interval": "month","#, #""interval": null,"#)
                == "plans[1].interval must be month or year for a subscription")
        #expect(
            refusal(#""firstResponseHours": 72"#, #""firstResponseHours": "72""#)
                == "plans[0].firstResponseHours must be an integer")
        #expect(
            refusal(#""customAgents": true"#, #""customAgents": 1"#) == "plans[2].customAgents must be true or false")
        #expect(refusal(#""id": "scale""#, #""id": "pro""#) == "plans[2].id pro is defined twice")
    }

    @Test("default priority: the plan's (internal 1), revisions 5, reviews at least 4, near deadlines raise it")
    func priority() {
        let now = Date(timeIntervalSince1970: 0)
        func p(_ plan: Plan?, _ type: TaskType?, hours: Double? = nil) -> Int {
            TaskPriority.default(
                planPriority: plan.map { Self.catalog[$0].terms.priority }, taskType: type,
                deadline: hours.map { now.addingTimeInterval($0 * 3600) }, now: now)
        }
        #expect(p(.sprint, .draft) == 2)
        #expect(p(.pro, nil) == 3)
        #expect(p(nil, nil) == 1)
        #expect(p(nil, .revision) == 5)
        #expect(p(.scale, .research) == 4)
        #expect(p(.sprint, .review) == 4)
        #expect(p(.sprint, .revision) == 5)
        #expect(p(.sprint, .draft, hours: 20) == 4)
        #expect(p(.sprint, .draft, hours: 7) == 5)
        #expect(p(.sprint, .draft, hours: 48) == 2)
    }

    @Test(
        "dispatch priority: the override wins; else the rules at dispatch time, never below the task's own",
        arguments: [
            // plan, type, hours to the deadline, the task's priority, override, expected
            (Plan?.some(.scale), TaskType?.none, Double?.none, 4, Int?.none, 4),
            (.pro, nil, nil, 3, nil, 3),
            (.sprint, nil, nil, 2, nil, 2),
            (nil, nil, nil, 1, nil, 1),
            (.sprint, .revision, nil, 2, nil, 5),
            (.sprint, .review, nil, 2, nil, 4),
            (.scale, .review, nil, 4, nil, 4),
            (.sprint, .draft, 30, 2, nil, 2),
            (.sprint, .draft, 23, 2, nil, 4),
            (.scale, .draft, 7.5, 4, nil, 5),
            (nil, nil, 100, 3, nil, 3),
            (.scale, .revision, 1, 5, 2, 2),
            (.sprint, nil, nil, 2, 9, 5),
        ] as [(Plan?, TaskType?, Double?, Int, Int?, Int)])
    func dispatchPriority(
        plan: Plan?, type: TaskType?, hours: Double?, taskPriority: Int, override: Int?, expected: Int
    ) {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let deadline = hours.map { now.addingTimeInterval($0 * 3600) }
        #expect(
            TaskPriority.atDispatch(
                planPriority: plan.map { Self.catalog[$0].terms.priority }, taskType: type, deadline: deadline,
                taskPriority: taskPriority, override: override, now: now
            )
                == expected)
    }

    @Test("project lifecycle: archive from anywhere but archived; new tasks only before delivery")
    func projectLifecycle() {
        for status in ProjectStatus.allCases {
            let archived = ProjectLifecycle.next(from: status, on: .archive)
            #expect((try? archived.get()) == (status == .archived ? nil : .archived))
        }
        #expect(ProjectLifecycle.takesNewTasks(.active) && !ProjectLifecycle.takesNewTasks(.archived))
        #expect(!ProjectLifecycle.takesNewTasks(.delivered))
    }

    @Test("task cancel: pending and assigned tasks fail; running and settled ones cannot be cancelled")
    func cancel() {
        #expect((try? TaskLifecycle.next(from: .pending, on: .cancel).get()) == .failed)
        #expect((try? TaskLifecycle.next(from: .assigned, on: .cancel).get()) == .failed)
        for status in [TaskStatus.running, .completed, .failed] {
            #expect((try? TaskLifecycle.next(from: status, on: .cancel).get()) == nil)
        }
    }
}

@Suite("Task plans")
struct TaskPlanTests {
    @Test("dependency order: each task after those it depends on, otherwise the plan's order")
    func order() {
        let order = TaskGraph.order(
            names: ["review", "research", "copy", "page"],
            dependencies: [["copy", "page"], [], ["research"], ["copy"]])
        #expect(order == .success([1, 2, 3, 0]))
    }

    @Test("a cycle is named, and so is a dependency on a name the plan lacks")
    func problems() {
        #expect(
            TaskGraph.order(names: ["a", "b", "c"], dependencies: [["c"], ["a"], ["b"]])
                == .failure(.cycle(["a", "c", "b", "a"])))
        #expect(TaskGraph.order(names: ["a"], dependencies: [["a"]]) == .failure(.cycle(["a", "a"])))
        #expect(
            TaskGraph.order(names: ["a", "b"], dependencies: [[], ["z"]]) == .failure(.unknown(task: 1, name: "z")))
    }

    @Test("a split body: keys unique, dependencies known, no cycle, each refusal at its field")
    func split() {
        func refusal(_ tasks: String) -> ValidationError? {
            do {
                _ = try TaskSplit.parse(Array(#"{"projectId": 1, "tasks": \#(tasks)}"#.utf8))
                return nil
            } catch { return error }
        }
        #expect(refusal(#"[{"key": "a", "title": "A"}, {"key": "b", "title": "B", "dependsOn": ["a"]}]"#) == nil)
        #expect(refusal("[]")?.field == "tasks")
        #expect(refusal(#"[{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]"#)?.field == "tasks[1].key")
        #expect(refusal(#"[{"key": "a", "title": "A", "dependsOn": ["x"]}]"#)?.field == "tasks[0].dependsOn")
        let cycle = refusal(
            #"[{"key": "a", "title": "A", "dependsOn": ["b"]}, {"key": "b", "title": "B", "dependsOn": ["a"]}]"#)
        #expect(cycle?.field == "tasks")
        #expect(cycle?.message == "the dependencies make a cycle: a -> b -> a")
        #expect(refusal(#"[{"key": "a", "title": "A", "colour": 1}]"#)?.field == "tasks[0].colour")
    }
}

@Suite("The command catalog")
struct CommandCatalogTests {
    @Test("every kind has exactly one payload type, and each type names its own kind")
    func everyKindOnce() {
        let kinds = CommandCatalog.payloads.map { $0.kind }
        #expect(Set(kinds) == Set(CommandKind.allCases))
        #expect(kinds.count == CommandKind.allCases.count, "a kind listed twice")
        for kind in CommandKind.allCases { #expect(CommandCatalog.payload(kind).kind == kind) }
    }

    @Test("every route is under /v1, on a row exactly when its type has a path id, and no two share a route")
    func routes() throws {
        var seen = Set<String>()
        for type in CommandCatalog.payloads {
            let route = type.route
            #expect(route.path.hasPrefix("/v1/"), "\(type.kind)")
            #expect(seen.insert("\(route.method.rawValue) \(route.path)").inserted, "\(route.path) twice")
            #expect(route.path.contains(":id") == (route.rest.hasPrefix(":id")), "\(route.path)")
        }
        let dispatch = TaskDispatch.route
        #expect(dispatch.collection == "/v1/tasks" && dispatch.rest == ":id/dispatch")
        #expect(dispatch.path(id: 42) == "/v1/tasks/42/dispatch")
        #expect(NewTask.route.rest == "" && NewTask.route.collection == "/v1/tasks")
        #expect(DeadLetterPurge.route.collection == "/v1/dead-letters" && DeadLetterPurge.route.rest == "purge")
    }

    @Test("a typed payload's request body is what the route parses back to the same command, the id in the path")
    func requestBodyRoundTrip() throws {
        let assignment = TaskAssignment(id: 4, agentId: 9)
        let body = try assignment.requestBody()
        #expect(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Int] == ["agentId": 9])
        let parsed = try OperatorCommand.parse(.taskAssign, body, pathID: assignment.pathID)
        #expect(parsed == OperatorCommand(assignment))
        let replay = DeadLetterReplay(ids: [3])
        #expect(replay.pathID == nil)
        #expect(try OperatorCommand.parse(.deadLetterReplay, try replay.requestBody()) == OperatorCommand(replay))
    }

    @Test(
        "who may issue each kind comes from its type: feedback and a brief are the client's, a revision and a message either's"
    )
    func issuers() {
        #expect(CommandKind.deliverableFeedback.issuers == .clients)
        #expect(CommandKind.projectBrief.issuers == .clients)
        #expect(CommandKind.deliverableRequestRevision.issuers == .both)
        #expect(CommandKind.projectMessage.issuers == .both)
        #expect(CommandKind.allCases.filter { $0.issuers == .operators }.count == CommandKind.allCases.count - 4)
    }
}

@Suite("Dead-letter commands")
struct DeadLetterCommandPayloadTests {
    @Test("a replay names its dead letters as references, so unknown ids are refused at the door")
    func references() throws {
        guard
            let replay = try OperatorCommand.parse(.deadLetterReplay, Array(#"{"ids": [4, 9]}"#.utf8)).payload
                as? DeadLetterReplay
        else {
            Issue.record("not a replay")
            return
        }
        #expect(
            replay.references == [Reference(.deadLetter, 4, field: "ids"), Reference(.deadLetter, 9, field: "ids")])
        let purge = try OperatorCommand.parse(.deadLetterPurge, Array(#"{"queue": "notify"}"#.utf8))
        #expect(purge == OperatorCommand(DeadLetterPurge(queue: .notify)))
        #expect(purge != OperatorCommand(DeadLetterPurge(queue: .dispatch)))
        #expect(purge.payload.references.isEmpty)
    }
}

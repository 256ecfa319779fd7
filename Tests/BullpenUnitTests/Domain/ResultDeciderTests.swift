import BullpenDomain
import Testing

@Suite("The result decider")
struct ResultDeciderTests {
    typealias Task = ResultDecider.TaskSnapshot
    typealias Project = ResultDecider.ProjectSnapshot

    func result(
        _ task: Int64, attempt: Int = 1, _ status: TaskResultReport.Outcome = .completed,
        output: String? = "the work", error: String? = nil
    ) -> TaskResultMessage {
        TaskResultMessage(
            report: TaskResultReport(taskId: task, status: status, output: output, error: error), attempt: attempt,
            receivedAt: 0)
    }

    func snapshot(
        _ tasks: [Task], projects: [Project] = [], waiting: [ResultDecider.WaitingTask] = [],
        dependents: [ResultDecider.Dependent] = []
    ) -> ResultDecider.Snapshot {
        ResultDecider.Snapshot(
            tasks: tasks, projects: projects, waiting: waiting, dependents: dependents,
            deliverableIDs: [900, 901, 902], notificationIDs: [700, 701, 702])
    }

    @Test(
        "a completed result settles its running task and opens the work's next version in review, with the operators' alert"
    )
    func completes() {
        let task = Task(
            id: 5, status: .running, attempt: 2, agentID: 3, projectID: 8, title: "Logo",
            latestVersionID: 40, latestVersion: 1)
        let plan = ResultDecider.decide([result(5, attempt: 2, output: "v2")], snapshot([task]))
        #expect(plan.refusals.isEmpty)
        #expect(
            plan.settlements == [
                .init(
                    taskID: 5, attempt: 2, outcome: .completed, status: .completed,
                    output: "v2", error: nil, retried: false)
            ])
        #expect(
            plan.versions == [
                .init(
                    id: 900, taskID: 5, projectID: 8, title: "Logo", content: "v2",
                    status: .review, version: 2, previousID: 40)
            ])
        #expect(plan.events.map(\.type) == ["task.completed", "deliverable.review"])
        #expect(plan.events[0].data == #"{"attempt": 2, "outputBytes": 2}"#)
        #expect(plan.events[1].deliverableID == 900)
        #expect(plan.notifications.count == 1)
        #expect(plan.notifications[0].id == 700)
        #expect(plan.notifications[0].draft.kind == .reviewWaiting)
        #expect(plan.notifications[0].draft.key == "review-waiting:900:email")
        #expect(plan.notifications[0].draft.data["version"] == "2")
        #expect(plan.dispatches.isEmpty)
    }

    @Test("a revision's version follows its work's latest, and two results of one work in a batch number in turn")
    func versionsInTurn() {
        let original = Task(
            id: 5, status: .running, attempt: 1, projectID: 8, title: "Logo", latestVersionID: 40,
            latestVersion: 3)
        let revision = Task(
            id: 6, status: .running, attempt: 1, projectID: 8, title: "Revise the logo", workID: 5,
            workTitle: "Logo", latestVersionID: 40, latestVersion: 3)
        let plan = ResultDecider.decide([result(5), result(6)], snapshot([original, revision]))
        #expect(plan.versions.map(\.version) == [4, 5])
        #expect(plan.versions.map(\.previousID) == [40, 900])
        #expect(plan.versions.map(\.title) == ["Logo", "Logo"])
    }

    @Test(
        "a result that cannot apply is refused with the reason, and nothing is planned for it",
        arguments: [
            (
                Task(id: 5, status: .running, attempt: 3, title: "t"),
                "task 5 is at attempt 3; a result for attempt 2 is stale"
            ),
            (
                Task(id: 5, status: .completed, attempt: 2, title: "t"),
                "task 5 is completed, not running; its result cannot apply"
            ),
            (
                Task(id: 5, status: .assigned, attempt: 2, title: "t"),
                "task 5 is assigned, not running; its result cannot apply"
            ),
        ])
    func refuses(task: Task, reason: String) {
        let plan = ResultDecider.decide([result(5, attempt: 2)], snapshot([task]))
        #expect(plan.refusals == [.init(taskID: 5, attempt: 2, reason: reason)])
        #expect(plan.settlements.isEmpty && plan.events.isEmpty && plan.versions.isEmpty)
    }

    @Test("a result for a task that does not exist is refused")
    func unknownTask() {
        let plan = ResultDecider.decide([result(99)], snapshot([]))
        #expect(plan.refusals.map(\.reason) == ["task 99 does not exist"])
    }

    @Test("the same task twice in a batch: the second result finds it settled")
    func twiceInBatch() {
        let task = Task(id: 5, status: .running, attempt: 1, projectID: 8, title: "t")
        let plan = ResultDecider.decide([result(5), result(5, .failed, error: "late")], snapshot([task]))
        #expect(plan.settlements.count == 1)
        #expect(plan.refusals.map(\.reason) == ["task 5 is completed, not running; its result cannot apply"])
    }

    @Test("a failure with retries left goes back to its agent for a new attempt, dispatched at the task's priority")
    func retries() {
        let task = Task(
            id: 5, status: .running, attempt: 1, agentID: 3, projectID: 8, title: "t", priority: 4,
            retryCount: 1, maxRetries: 2)
        let plan = ResultDecider.decide([result(5, .failed, output: nil, error: "boom")], snapshot([task]))
        #expect(
            plan.settlements == [
                .init(
                    taskID: 5, attempt: 1, outcome: .failed, status: .assigned, output: nil,
                    error: "boom", retried: true)
            ])
        #expect(plan.events.map(\.type) == ["task.failed", "task.retrying"])
        #expect(plan.events[1].message == "Task 5 failed; retry 2 of 2 with a new attempt")
        #expect(plan.dispatches == [DispatchRequest(taskId: 5, cause: "retry:task-result:5:1", priority: 4)])
        #expect(plan.notifications.isEmpty && plan.versions.isEmpty)
    }

    @Test(
        "a failure without retries left (or without an agent to retry on) stays failed and alerts the operators",
        arguments: [
            Task(
                id: 5, status: .running, attempt: 3, agentID: 3, projectID: 8, title: "Copy", retryCount: 2,
                maxRetries: 2),
            Task(id: 5, status: .running, attempt: 3, projectID: 8, title: "Copy", retryCount: 0, maxRetries: 2),
        ])
    func failsForGood(task: Task) {
        let plan = ResultDecider.decide([result(5, attempt: 3, .failed, output: nil, error: "boom")], snapshot([task]))
        #expect(plan.settlements.map(\.status) == [.failed])
        #expect(plan.dispatches.isEmpty)
        #expect(plan.notifications.map(\.draft.key) == ["task-failed:5:3:email"])
        #expect(
            plan.notifications.first?.draft.data == ["taskId": "5", "title": "Copy", "attempt": "3", "error": "boom"])
        #expect(plan.notifications.first?.priority == 4)
    }

    @Test("a closed run frees its agent: the agent's next waiting task is dispatched, once per agent")
    func freesAgent() {
        let tasks = [
            Task(id: 5, status: .running, attempt: 1, agentID: 3, title: "a"),
            Task(id: 6, status: .running, attempt: 1, agentID: 3, title: "b"),
        ]
        let plan = ResultDecider.decide(
            [result(5), result(6)], snapshot(tasks, waiting: [.init(agentID: 3, taskID: 11, priority: 5)]))
        #expect(plan.dispatches == [DispatchRequest(taskId: 11, cause: "release:task-result:5:1", priority: 5)])
    }

    @Test("a dependent is released when every unfinished dependency completes in this batch, not before")
    func releasesDependents() {
        let tasks = [
            Task(id: 5, status: .running, attempt: 1, projectID: 8, title: "a"),
            Task(id: 6, status: .running, attempt: 1, projectID: 8, title: "b"),
        ]
        let dependents: [ResultDecider.Dependent] = [
            .init(taskID: 20, projectID: 8, status: .pending, unfinished: [5]),
            .init(taskID: 21, projectID: 8, status: .assigned, unfinished: [5, 6]),
            .init(taskID: 22, projectID: 8, status: .pending, unfinished: [5, 7]),
        ]
        let both = ResultDecider.decide([result(5), result(6)], snapshot(tasks, dependents: dependents))
        #expect(both.events.filter { $0.type == "task.released" }.map(\.taskID) == [20, 21])
        #expect(both.releasedPending == [20])
        let oneFailed = ResultDecider.decide(
            [result(5), result(6, .failed, error: "x")], snapshot(tasks, dependents: dependents))
        #expect(oneFailed.events.filter { $0.type == "task.released" }.map(\.taskID) == [20])
    }

    @Test("the project moves to review when its last running task completes, and stays active while others run")
    func projectMoves() {
        let task = Task(id: 5, status: .running, attempt: 1, projectID: 8, title: "a")
        let last = ResultDecider.decide(
            [result(5)], snapshot([task], projects: [.init(id: 8, clientID: 2, status: .active)]))
        #expect(last.projectMoves.map(\.to) == [.review])
        #expect(last.projectMoves.first?.event.message == "Project 8 is review (was active)")
        #expect(last.projectMoves.first?.event.clientID == 2)
        let others = ResultDecider.decide(
            [result(5)], snapshot([task], projects: [.init(id: 8, status: .active, work: .init(started: 1))]))
        #expect(others.projectMoves.isEmpty)
        let retried = ResultDecider.decide(
            [result(5, .failed, error: "x")],
            snapshot(
                [Task(id: 5, status: .running, attempt: 1, agentID: 1, projectID: 8, title: "a")],
                projects: [.init(id: 8, status: .active, work: .init(awaiting: 1))]))
        #expect(retried.projectMoves.isEmpty, "a retried task is work started again")
        let failed = ResultDecider.decide(
            [result(5, .failed, error: "x")],
            snapshot([task], projects: [.init(id: 8, status: .active, work: .init(awaiting: 1))]))
        #expect(failed.projectMoves.map(\.to) == [.review])
    }

    @Test("ids: a version per completed result, an alert per result")
    func idsNeeded() {
        let needed = ResultDecider.idsNeeded([result(1), result(2, .failed, error: "x"), result(3)])
        #expect(needed.deliverables == 2 && needed.notifications == 3)
    }
}

import BullpenDomain
import Foundation
import Testing

/// `task.dispatch`'s rules on snapshots, with no database: each refusal with its reason, routing, the
/// priority and the reasons the decision records.
@Suite("Dispatch decider")
struct DispatchDeciderTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func agent(
        _ id: Int64, _ specialization: Specialization? = .writer, status: AgentStatus = .online, custom: Int64? = nil,
        open: Int = 0, capacity: Int = 2
    ) -> AgentCandidate {
        AgentCandidate(
            id: id, status: status, specialization: specialization, customForClientID: custom, openRuns: open,
            maxConcurrentTasks: capacity)
    }

    func decide(
        _ dispatch: TaskDispatch, _ snapshot: DispatchDecider.Snapshot
    ) -> Result<
        DispatchDecider.Decision, CommandRejection
    > {
        Result { () throws(CommandRejection) in try DispatchDecider.request(dispatch, snapshot, now: now) }
    }

    func refusal(_ dispatch: TaskDispatch, _ snapshot: DispatchDecider.Snapshot) -> String? {
        guard case .failure(let rejection) = decide(dispatch, snapshot) else { return nil }
        return rejection.reason
    }

    func standing(used: Int, included: Int?, status: SubscriptionStatus = .active) -> UsageHold.Standing {
        UsageHold.Standing(
            subscriptionID: 8, planName: "sprint", status: status, included: included, used: used, inProgress: 0)
    }

    @Test(
        "refusals, each with the rule's reason",
        arguments: [
            (
                DispatchDecider.Snapshot(taskID: 5, status: .pending, unfinishedDependencies: [2, 3]),
                "task 5 waits for tasks 2, 3 to complete"
            ),
            (
                DispatchDecider.Snapshot(taskID: 5, status: .running),
                "task 5 is running; only a pending or assigned task can be dispatched"
            ),
            (
                DispatchDecider.Snapshot(taskID: 5, status: .assigned, assignedAgentID: 1, openAttempt: true),
                "task 5 is being dispatched already"
            ),
            (DispatchDecider.Snapshot(taskID: 5, status: .assigned), "task 5 has no agent"),
            (
                DispatchDecider.Snapshot(taskID: 5, status: .pending, taskType: .code),
                "no agent can take task 5: none is online with specialization coder"
            ),
        ])
    func refusals(snapshot: DispatchDecider.Snapshot, reason: String) {
        #expect(refusal(TaskDispatch(id: 5), snapshot) == reason)
    }

    @Test("a named agent that does not exist, or is paused, is refused")
    func namedAgent() {
        let snapshot = DispatchDecider.Snapshot(taskID: 5, status: .pending, agents: [agent(1, status: .paused)])
        #expect(refusal(TaskDispatch(id: 5, agentId: 9), snapshot) == "there is no agent 9")
        #expect(refusal(TaskDispatch(id: 5, agentId: 1), snapshot) == "agent 1 is paused")
    }

    @Test("a billing hold refuses new work unless an operator overrides it, and the override is a reason")
    func hold() throws {
        var snapshot = DispatchDecider.Snapshot(
            taskID: 5, status: .pending, projectID: 2, standing: standing(used: 3, included: 3), agents: [agent(1)])
        let held = try #require(refusal(TaskDispatch(id: 5), snapshot))
        #expect(held.hasPrefix("task 5 is held: subscription 8 (sprint) includes 3 deliverables a period"))
        let decision = try decide(TaskDispatch(id: 5, overrideReason: "agreed by phone"), snapshot).get()
        #expect(decision.overridden?.reason == "agreed by phone")
        #expect(decision.reasons.first?.contains("an operator's override: agreed by phone") == true)
        // A revision of delivered work is not new work: the allowance does not hold it.
        snapshot.taskType = .revision
        snapshot.work = 4
        #expect(refusal(TaskDispatch(id: 5), snapshot) == nil)
        // Past due holds everything.
        snapshot.standing = standing(used: 0, included: nil, status: .pastDue)
        #expect(refusal(TaskDispatch(id: 5), snapshot)?.contains("is past due") == true)
    }

    @Test("routing picks the client's own agent, with the reasons it used")
    func routing() throws {
        let snapshot = DispatchDecider.Snapshot(
            taskID: 5, status: .pending, clientID: 9, taskType: .draft, planPriority: 3,
            agents: [agent(1), agent(2, custom: 9, open: 1), agent(3, .coder)])
        let decision = try decide(TaskDispatch(id: 5), snapshot).get()
        #expect(decision.agentID == 2)
        #expect(
            decision.reasons == [
                "agent 2: routed, the client's own agent, specialization writer, 1 of 2 slots in use, failure rate 0 %",
                "priority 3: by the rules (the plan's 3)",
            ])
    }

    @Test("an assigned task goes to its agent unless the operator names another")
    func assigned() throws {
        let snapshot = DispatchDecider.Snapshot(
            taskID: 5, status: .assigned, assignedAgentID: 1, agents: [agent(1), agent(4)])
        #expect(try decide(TaskDispatch(id: 5), snapshot).get().agentID == 1)
        #expect(try decide(TaskDispatch(id: 5), snapshot).get().reasons.first == "agent 1: assigned to it before")
        #expect(try decide(TaskDispatch(id: 5, agentId: 4), snapshot).get().agentID == 4)
    }

    @Test("the priority: the override, the task's own, or the rules with what raised them")
    func priority() throws {
        let base = DispatchDecider.Snapshot(
            taskID: 5, status: .pending, assignedAgentID: 1, taskPriority: 2, planPriority: 2, agents: [agent(1)])
        let overridden = try decide(TaskDispatch(id: 5, agentId: 1, priority: 1), base).get()
        #expect(overridden.priority == 1 && overridden.reasons.last == "priority 1: the operator's override")
        var own = base
        own.taskPriority = 4
        #expect(try decide(TaskDispatch(id: 5, agentId: 1), own).get().reasons.last == "priority 4: the task's own")
        var soon = base
        soon.deadline = now.addingTimeInterval(6 * 3600)
        let urgent = try decide(TaskDispatch(id: 5, agentId: 1), soon).get()
        #expect(urgent.priority == 5)
        #expect(urgent.reasons.last == "priority 5: by the rules (the plan's 2; the deadline under 8 hours away, 5)")
    }
}

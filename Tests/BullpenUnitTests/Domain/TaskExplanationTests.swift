import BullpenDomain
import Foundation
import Testing

/// "Why is this task waiting?" on snapshots: each state's reason, and what was recorded when it was decided.
@Suite("Task explanation")
struct TaskExplanationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let writer = TaskExplanation.Agent(id: 3, name: "writer-1", status: .online, openRuns: 2, maxConcurrentTasks: 2)

    @Test("pending: its dependencies first, then a billing hold, then that nobody asked yet")
    func pending() {
        #expect(
            TaskExplanation.reasons(.init(taskID: 9, status: .pending, unfinishedDependencies: [4, 5]), now: now)
                == ["waits for tasks 4, 5 to complete"])
        #expect(
            TaskExplanation.reasons(.init(taskID: 9, status: .pending, hold: "subscription 8 is past due"), now: now)
                == ["held: subscription 8 is past due; an operator may dispatch it with an override reason"])
        #expect(
            TaskExplanation.reasons(.init(taskID: 9, status: .pending), now: now).first?.hasPrefix("pending:") == true)
    }

    @Test("waiting for a slot: the agent's load, its place in the line and its priority, and the decision's reasons")
    func atCapacity() {
        let reasons = TaskExplanation.reasons(
            .init(
                taskID: 9, status: .assigned, dispatchPriority: 4, agent: writer, ahead: 2,
                decided: ["agent 3: routed, specialization writer", "priority 4: by the rules (the plan's 4)"]),
            now: now)
        #expect(
            reasons == [
                "waits for a slot on agent writer-1: it runs 2 of 2; 2 tasks go first (priority 4)",
                "when its dispatch was asked: agent 3: routed, specialization writer",
                "when its dispatch was asked: priority 4: by the rules (the plan's 4)",
            ])
        var next = TaskExplanation.Snapshot(taskID: 9, status: .assigned, dispatchPriority: 5, agent: writer)
        #expect(TaskExplanation.reasons(next, now: now).first?.contains("this task is next in its line") == true)
        next.agent?.status = .paused
        #expect(TaskExplanation.reasons(next, now: now).first == "waits for agent writer-1, which is paused")
    }

    @Test(
        "a run start in a retry tier: which tier, when it is tried again, which delivery of how many; not another attempt's"
    )
    func retryTier() {
        let attempt = TaskExplanation.Attempt(
            number: 2, openedAt: now.addingTimeInterval(-40), sessionKey: nil, deadlineAt: nil)
        let retry = TaskExplanation.Retry(
            attempt: 2, tier: 2, delaySeconds: 30, delivery: 3, maxDeliveries: 5, reason: "the gateway is unreachable",
            retryAt: now.addingTimeInterval(25))
        let waiting = TaskExplanation.reasons(
            .init(taskID: 9, status: .assigned, agent: writer, attempt: attempt, retry: retry), now: now)
        #expect(
            waiting.first
                == "attempt 2's run start failed (the gateway is unreachable) and waits in retry tier 2 (30 s): it is tried again in 25 s, delivery 3 of 5; after the last, it is parked and the operators are told"
        )
        var late = retry
        late.retryAt = now.addingTimeInterval(-1)
        #expect(
            TaskExplanation.reasons(.init(taskID: 9, status: .assigned, attempt: attempt, retry: late), now: now).first?
                .contains("it is tried again about now") == true)
        var earlier = retry
        earlier.attempt = 1
        #expect(
            TaskExplanation.reasons(.init(taskID: 9, status: .assigned, attempt: attempt, retry: earlier), now: now)
                .first?.hasPrefix("attempt 2 opened 40 s ago") == true)
    }

    @Test("a run start on its way, a run past its deadline, a failure with its retries and what was parked")
    func runs() {
        let opened = now.addingTimeInterval(-90)
        let starting = TaskExplanation.reasons(
            .init(
                taskID: 9, status: .assigned, agent: writer,
                attempt: .init(number: 2, openedAt: opened, sessionKey: nil, deadlineAt: nil)), now: now)
        #expect(starting.first?.hasPrefix("attempt 2 opened 90 s ago: its run start is on its way") == true)
        let late = TaskExplanation.reasons(
            .init(
                taskID: 9, status: .running, agent: writer,
                attempt: .init(
                    number: 1, openedAt: now.addingTimeInterval(-3 * 3600), sessionKey: "s",
                    deadlineAt: now.addingTimeInterval(-60))), now: now)
        #expect(
            late == ["running attempt 1 on agent writer-1 for 3 h; past its deadline, the stuck-run check will end it"])
        let failed = TaskExplanation.reasons(
            .init(
                taskID: 9, status: .failed, error: "dispatch failed: unknown agent id", retryCount: 2, maxRetries: 2,
                parked: ["the gateway refused: INVALID_REQUEST unknown agent id"]), now: now)
        #expect(
            failed == [
                "failed: dispatch failed: unknown agent id (retried 2 of 2 times)",
                "a message of it was parked: the gateway refused: INVALID_REQUEST unknown agent id",
            ])
    }
}

import BullpenDomain
import Testing

@Suite("Task and deliverable lifecycles")
struct LifecycleTests {
    @Test("every allowed task transition, and nothing else")
    func taskTransitions() {
        let allowed: [TaskStatus: [TaskEvent: TaskStatus]] = [
            .pending: [.assign: .assigned],
            .assigned: [.unassign: .pending, .start: .running, .fail: .failed],
            .running: [.complete: .completed, .fail: .failed],
            .failed: [.retry: .pending],
            .completed: [:],
        ]
        let events: [TaskEvent] = [.assign, .unassign, .start, .complete, .fail, .retry]
        for status in TaskStatus.allCases {
            for event in events {
                let outcome = TaskLifecycle.next(from: status, on: event)
                if let expected = allowed[status]?[event] {
                    #expect(outcome == .success(expected), "\(status) on \(event)")
                } else {
                    #expect(outcome == .failure(.init(from: status, event: event)), "\(status) on \(event)")
                }
            }
        }
    }

    @Test("a completed task takes no result")
    func completedIsFinal() {
        #expect(TaskStatus.completed.isFinal)
        #expect(TaskStatus.failed.isFinal)
        #expect(!TaskStatus.running.isFinal)
        guard case .failure(let refusal) = TaskLifecycle.next(from: .completed, on: .complete) else {
            Issue.record("completed -> complete was allowed")
            return
        }
        #expect(refusal.description == "a completed task cannot complete")
    }

    @Test("every allowed deliverable transition, and nothing else")
    func deliverableTransitions() {
        let allowed: [DeliverableStatus: [DeliverableEvent: DeliverableStatus]] = [
            .draft: [.submitForReview: .review],
            .review: [.approve: .approved, .reject: .rejected, .requestRevision: .rejected],
            .approved: [.deliver: .delivered, .requestRevision: .rejected],
            .delivered: [.requestRevision: .delivered],
            .rejected: [:],
        ]
        let events: [DeliverableEvent] = [.submitForReview, .approve, .reject, .deliver, .requestRevision]
        for status in DeliverableStatus.allCases {
            for event in events {
                let outcome = DeliverableLifecycle.next(from: status, on: event)
                if let expected = allowed[status]?[event] {
                    #expect(outcome == .success(expected), "\(status) on \(event)")
                } else {
                    #expect(outcome == .failure(.init(from: status, event: event)), "\(status) on \(event)")
                }
            }
        }
    }

    @Test("a delivered project reopens for a revision; an archived one does not")
    func projectReopens() {
        #expect(ProjectLifecycle.next(from: .delivered, on: .reopen) == .success(.active))
        #expect((try? ProjectLifecycle.next(from: .archived, on: .reopen).get()) == nil)
        #expect((try? ProjectLifecycle.next(from: .active, on: .reopen).get()) == nil)
    }

    @Test("revision rounds: within the plan, refused past its limit, allowed past it with an operator's reason")
    func revisionAllowance() {
        #expect(RevisionAllowance.check(used: 0, limit: 2, overrideReason: nil) == .success(.withinPlan))
        #expect(RevisionAllowance.check(used: 1, limit: 2, overrideReason: nil) == .success(.withinPlan))
        #expect(RevisionAllowance.check(used: 2, limit: 2, overrideReason: nil) == .failure(.init(used: 2, limit: 2)))
        #expect(RevisionAllowance.check(used: 40, limit: nil, overrideReason: nil) == .success(.withinPlan))
        #expect(
            RevisionAllowance.check(used: 2, limit: 2, overrideReason: "our mistake")
                == .success(.overridden(reason: "our mistake")))
        #expect(
            RevisionAllowance.Refusal(used: 2, limit: 2).description
                == "the project has used 2 of its 2 revision rounds; an operator may allow another with an override reason"
        )
    }
}

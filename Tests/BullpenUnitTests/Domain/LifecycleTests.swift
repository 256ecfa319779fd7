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

    @Test("deliverables go draft, review, approved, delivered or rejected")
    func deliverableTransitions() {
        #expect(DeliverableLifecycle.next(from: .draft, on: .submitForReview) == .success(.review))
        #expect(DeliverableLifecycle.next(from: .review, on: .approve) == .success(.approved))
        #expect(DeliverableLifecycle.next(from: .review, on: .reject) == .success(.rejected))
        #expect(DeliverableLifecycle.next(from: .approved, on: .deliver) == .success(.delivered))
        #expect(DeliverableLifecycle.next(from: .draft, on: .deliver) == .failure(.init(from: .draft, event: .deliver)))
        #expect(
            DeliverableLifecycle.next(from: .delivered, on: .approve)
                == .failure(.init(from: .delivered, event: .approve)))
        #expect(
            DeliverableLifecycle.next(from: .rejected, on: .approve)
                == .failure(.init(from: .rejected, event: .approve)))
    }
}

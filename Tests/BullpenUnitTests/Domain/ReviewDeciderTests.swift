import BullpenDomain
import Foundation
import Testing

/// A reviewer's decisions on snapshots of a version, with no database.
@Suite("Review decider")
struct ReviewDeciderTests {
    func version(
        _ status: DeliverableStatus, agent: Int64? = 7, takesWork: Bool = true, rounds: Int? = 2, used: Int = 0,
        project: ProjectStatus = .review
    ) -> ReviewDecider.Version {
        ReviewDecider.Version(
            id: 40, status: status, taskID: 12, work: 10, agentID: agent, agentTakesWork: takesWork,
            taskTitle: "Landing copy", taskDescription: "One page", taskType: .draft, priority: 3, projectID: 3,
            clientID: 9, projectStatus: project, maxRevisions: rounds, revisionCount: used)
    }

    func refusal<T>(_ body: () throws(CommandRejection) -> T) -> String? {
        do {
            _ = try body()
            return nil
        } catch { return error.reason }
    }

    @Test("approve and deliver walk the lifecycle; a step it refuses is a rejection that says so")
    func approveAndDeliver() throws {
        #expect(try ReviewDecider.decide(40, from: .review, deliver: false) == .approved)
        #expect(try ReviewDecider.decide(40, from: .review, deliver: true) == .delivered)
        #expect(try ReviewDecider.decide(40, from: .approved, deliver: true) == .delivered)
        #expect(
            refusal { () throws(CommandRejection) in try ReviewDecider.decide(40, from: .delivered, deliver: false) }?
                .hasPrefix("deliverable 40: ") == true)
    }

    @Test("a revision within the plan: round and terms, the same agent, priority 5, the client told if it saw it")
    func revisionWithinPlan() throws {
        let request = DeliverableRevisionRequest(id: 40, notes: "Shorter, please")
        let revision = try ReviewDecider.revision(
            request, of: version(.delivered, used: 1, project: .delivered), clientID: 9)
        #expect(revision.round == 2 && revision.terms == "round 2 of 2" && revision.requester == "client")
        #expect(revision.reopensProject && revision.tellsClient && !revision.endsReview)
        #expect(revision.rework.agentID == 7 && revision.rework.priority == 5 && revision.rework.dispatchPriority == 5)
        #expect(revision.rework.title == "Revision 2: Landing copy" && revision.rework.taskType == .revision)
        #expect(revision.rework.description == "Shorter, please")
    }

    @Test("past the plan's rounds: refused, the operator may override with a reason, a client may not")
    func revisionPastThePlan() throws {
        let spent = version(.review, used: 2)
        #expect(
            refusal { () throws(CommandRejection) in
                try ReviewDecider.revision(DeliverableRevisionRequest(id: 40, notes: "More"), of: spent, clientID: nil)
            }
                == "project 3: the project has used 2 of its 2 revision rounds; an operator may allow another with an override reason"
        )
        let granted = try ReviewDecider.revision(
            DeliverableRevisionRequest(id: 40, notes: "More", overrideReason: "goodwill"), of: spent, clientID: nil)
        #expect(granted.terms == "round 3, past the plan's 2: goodwill" && granted.endsReview)
        #expect(
            refusal { () throws(CommandRejection) in
                try ReviewDecider.revision(
                    DeliverableRevisionRequest(id: 40, notes: "More", overrideReason: "please"),
                    of: version(.delivered, used: 2), clientID: 9)
            } == "only an operator can allow a revision past the plan's rounds")
    }

    @Test("a client asks only about what was delivered to it; an agent that takes no work leaves routing to choose")
    func revisionByWhom() throws {
        let request = DeliverableRevisionRequest(id: 40, notes: "Again")
        #expect(
            refusal { () throws(CommandRejection) in
                try ReviewDecider.revision(request, of: version(.review), clientID: 9)
            }
                == "deliverable 40 was not delivered to you")
        #expect(
            refusal { () throws(CommandRejection) in
                try ReviewDecider.revision(request, of: version(.delivered), clientID: 8)
            }
                == "deliverable 40 was not delivered to you")
        let offline = try ReviewDecider.revision(request, of: version(.review, takesWork: false), clientID: nil)
        #expect(offline.rework.agentID == nil)
    }

    @Test("a rejection sends the work to another agent of its specialization, or is refused with the reason")
    func rejection() throws {
        let request = DeliverableRejection(id: 40, notes: "Off brief")
        let agents = [
            AgentCandidate(id: 7, status: .online, specialization: .writer),
            AgentCandidate(id: 8, status: .online, specialization: .writer),
            AgentCandidate(id: 9, status: .online, specialization: .coder),
        ]
        let decided = try ReviewDecider.rejection(request, of: version(.review), agents: agents)
        #expect(decided.status == .rejected && decided.rework.agentID == 8)
        #expect(decided.rework.description == "One page\n\nA previous version was rejected in review: Off brief")
        #expect(decided.rework.title == "Landing copy" && decided.rework.dispatchPriority == nil)
        #expect(
            refusal { () throws(CommandRejection) in
                try ReviewDecider.rejection(request, of: version(.review), agents: Array(agents.prefix(1)))
            }
                == "no other agent with specialization writer is online to do the work again; deliverable 40 stays in review"
        )
    }
}

import BullpenDomain
import Testing

@Suite("Project progress")
struct ProjectProgressTests {
    typealias Work = ProjectProgress.Work

    @Test(
        "intake until work starts; active while work runs or waits to start; review when all open work waits for review; delivered when all is delivered",
        arguments: [
            (ProjectStatus.intake, Work(), ProjectStatus.intake),
            (.intake, Work(pending: 3), .intake),
            (.intake, Work(pending: 2, started: 1), .active),
            (.active, Work(pending: 1, awaiting: 1), .active),
            (.active, Work(awaiting: 2), .review),
            (.active, Work(awaiting: 1, delivered: 1), .review),
            (.review, Work(delivered: 2), .delivered),
            (.review, Work(pending: 1, delivered: 1), .active),
            (.delivered, Work(started: 1, delivered: 1), .active),
            (.delivered, Work(delivered: 1), .delivered),
            (.archived, Work(started: 1), .archived),
            (.active, Work(), .active),
        ])
    func target(current: ProjectStatus, work: Work, expected: ProjectStatus) {
        #expect(ProjectProgress.target(current, work) == expected)
    }

    @Test("the moves go through the lifecycle, several in one step when the work ran ahead")
    func moves() {
        #expect(ProjectProgress.moves(.intake, Work(started: 1)) == [.activate])
        #expect(ProjectProgress.moves(.intake, Work(awaiting: 1)) == [.activate, .submitForReview])
        #expect(ProjectProgress.moves(.intake, Work(delivered: 1)) == [.activate, .submitForReview, .deliver])
        #expect(ProjectProgress.moves(.review, Work(delivered: 1)) == [.deliver])
        #expect(ProjectProgress.moves(.delivered, Work(started: 1, delivered: 1)) == [.reopen])
        #expect(ProjectProgress.moves(.delivered, Work(awaiting: 1, delivered: 1)) == [.reopen, .submitForReview])
        #expect(ProjectProgress.moves(.archived, Work(started: 1)).isEmpty)
        #expect(ProjectProgress.moves(.active, Work(started: 1)).isEmpty)
    }

    @Test("reached: the lifecycle walked along the moves, or where it stands when there is no way")
    func reached() {
        #expect(ProjectProgress.reached(.intake, Work(delivered: 1)) == .delivered)
        #expect(ProjectProgress.reached(.delivered, Work(awaiting: 1, delivered: 1)) == .review)
        #expect(ProjectProgress.reached(.archived, Work(started: 1)) == .archived)
    }
}

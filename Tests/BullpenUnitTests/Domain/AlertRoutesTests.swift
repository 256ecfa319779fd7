import BullpenDomain
import Foundation
import Testing

@Suite("Alert routes")
struct AlertRoutesTests {
    func parse(_ json: String) throws(ValidationError) -> AlertRoutes { try AlertRoutes.parse(Data(json.utf8)) }

    @Test("a kind goes where its route says, each channel once; an unnamed kind by email")
    func routes() throws {
        let routes = try parse(
            #"{"routes": {"dispatch-failed": ["email", "slack", "slack"], "sla-breached": ["discord"]}}"#)
        #expect(routes.channels(.dispatchFailed) == [.email, .slack])
        #expect(routes.channels(.slaBreached) == [.discord])
        #expect(routes.channels(.taskFailed) == [.email])
        let file = try AlertRoutes.load(from: Repository.root + "/Config/alerts.json")
        #expect(file.channels(.slaBreached).contains(.discord))
        #expect(try AlertRoutes.load(from: "/nonexistent/alerts.json") == AlertRoutes())
    }

    @Test("a client's kind, an unknown channel or an empty list is refused, naming it")
    func refusals() {
        #expect(throws: ValidationError(field: "routes.deliverable-ready", message: "is not a kind of operator alert"))
        {
            try parse(#"{"routes": {"deliverable-ready": ["email"]}}"#)
        }
        #expect(
            throws: ValidationError(
                field: "routes.task-failed", message: "pager is not a channel (email, slack, discord)")
        ) { try parse(#"{"routes": {"task-failed": ["pager"]}}"#) }
        #expect(throws: ValidationError(field: "routes.task-failed", message: "must list one channel or more")) {
            try parse(#"{"routes": {"task-failed": []}}"#)
        }
    }

    @Test("an agent is failing above a quarter of its runs, over eight runs or more")
    func agentHealth() {
        #expect(!AgentHealth.failing(completed: 5, failed: 2), "7 runs: too few")
        #expect(AgentHealth.failing(completed: 6, failed: 3))
        #expect(!AgentHealth.failing(completed: 6, failed: 2), "exactly a quarter is not above it")
    }
}

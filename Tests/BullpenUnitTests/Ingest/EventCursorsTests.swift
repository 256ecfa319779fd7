import BullpenDomain
import BullpenStore
import Foundation
import Testing

@testable import BullpenIngest

@Suite("Event cursors and the client's projection")
struct EventCursorsTests {
    let cursors = EventCursors(secret: "a link secret of thirty-two characters or more")
    let position = EventPosition(transaction: 123_456_789, id: 987_654)

    @Test("a cursor gives back its position, for its own audience only; 0 is the start")
    func roundTrip() throws {
        for viewer in [Viewer.operator, .client(7)] {
            let cursor = cursors.cursor(position, for: viewer)
            #expect(cursors.position(cursor, for: viewer) == position)
        }
        let clients = cursors.cursor(position, for: .client(7))
        #expect(cursors.position(clients, for: .client(8)) == nil, "another client's")
        #expect(cursors.position(clients, for: .operator) == nil, "a client's cursor is not an operator's")
        #expect(cursors.position("0", for: .client(7)) == .start)
        #expect(
            EventCursors(secret: "another secret of thirty-two characters or more").position(clients, for: .client(7))
                == nil, "another deployment's")
    }

    @Test("a cursor says nothing of the ids inside: the same position differs each time; altered or junk is refused")
    func opaque() throws {
        let one = cursors.cursor(position, for: .client(7))
        let two = cursors.cursor(position, for: .client(7))
        #expect(one != two, "sealed with a fresh nonce each time")
        #expect(!one.contains("987654") && !one.contains("123456789"))
        #expect(one.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }, "URL-safe")
        var altered = Array(one)
        altered[20] = altered[20] == "A" ? "B" : "A"
        #expect(cursors.position(String(altered), for: .client(7)) == nil)
        for junk in ["", "57", "-1", "abc", String(repeating: "A", count: 200), "a/b", "zz=="] {
            #expect(cursors.position(junk, for: .client(7)) == nil, "\(junk)")
        }
    }

    @Test("feed positions order by transaction, then id")
    func order() {
        let early = EventPosition(transaction: 10, id: 500)
        let late = EventPosition(transaction: 11, id: 3)
        #expect(early < late && EventPosition.start < early)
        #expect(EventPosition(transaction: 10, id: 1) < early)
    }

    @Test("the client's projection: an allow-list of event types with words of their own; no internal type in it")
    func projection() {
        for hidden in [
            "deliverable.review", "deliverable.approved", "deliverable.rejected", "agent.quality_failure",
            "task.failed", "task.retrying", "task.assigned", "task.dispatch_failed", "billing.hold_overridden",
            "sla.at_risk", "sla.breached", "lead.received", "agent.offline",
        ] {
            #expect(!ClientProjection.sees(event: hidden), "\(hidden)")
        }
        #expect(ClientProjection.sees(event: "deliverable.delivered"))
        #expect(ClientProjection.eventTypes.count == ClientProjection.eventWords.count)
        #expect(ClientProjection.eventWords.allSatisfy { !$0.isEmpty })
        #expect(
            !ClientProjection.taskFields.contains("assignedAgentId") && !ClientProjection.taskFields.contains("error"))
        #expect(!ClientProjection.eventFields.contains("id") && !ClientProjection.eventFields.contains("data"))
    }
}

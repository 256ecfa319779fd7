import BullpenDomain
import Foundation
import Testing

@Suite("SLA rules")
struct SLAClockTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    var deadline: Date { start.addingTimeInterval(24 * 3600) }
    func at(hours: Double) -> Date { start.addingTimeInterval(hours * 3600) }

    @Test("on track, at risk under a fifth of the window left, breached at the deadline; never backwards")
    func monitor() {
        let table: [(SLAStatus, Double, SLAStatus)] = [
            (.onTrack, 0, .onTrack),
            (.onTrack, 19.2, .onTrack),  // exactly a fifth left: not yet at risk
            (.onTrack, 19.3, .atRisk),
            (.onTrack, 24, .breached),
            (.atRisk, 23.9, .atRisk),
            (.atRisk, 25, .breached),
            (.atRisk, 1, .atRisk),  // a clock read early does not move it back
            (.met, 30, .met),
            (.breached, 1, .breached),
        ]
        for (current, hours, expected) in table {
            #expect(
                SLAClock.status(current: current, startedAt: start, deadline: deadline, now: at(hours: hours))
                    == expected, "\(current) at \(hours) h")
        }
    }

    @Test("fulfilled in time is met, late is breached; a closed status stays")
    func fulfilment() {
        #expect(SLAClock.fulfilled(current: .onTrack, deadline: deadline, now: at(hours: 2)) == .met)
        #expect(SLAClock.fulfilled(current: .atRisk, deadline: deadline, now: at(hours: 24)) == .met)
        #expect(SLAClock.fulfilled(current: .atRisk, deadline: deadline, now: at(hours: 24.1)) == .breached)
        #expect(SLAClock.fulfilled(current: .breached, deadline: deadline, now: at(hours: 1)) == .breached)
    }

    @Test("targets: responses take the plan's response hours, work its delivery hours")
    func targets() {
        let terms = try! PlanCatalog.load(from: Repository.root + "/Config/plans.json")[.scale].terms
        #expect(SLAType.firstResponse.targetHours(responseHours: terms.responseHours, deliveryHours: 99) == 8)
        #expect(SLAType.messageResponse.targetHours(responseHours: 8, deliveryHours: 99) == 8)
        #expect(SLAType.deliverableDue.targetHours(responseHours: 8, deliveryHours: 72) == 72)
        #expect(SLAType.revisionDue.targetHours(responseHours: 8, deliveryHours: 72) == 72)
        #expect(SLAType.revisionDue.words == "revision due")
    }
}

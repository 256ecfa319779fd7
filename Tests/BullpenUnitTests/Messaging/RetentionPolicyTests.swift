import BullpenDomain
import BullpenMessaging
import Foundation
import Testing

@Suite("Retention policy and schedule times")
struct RetentionPolicyTests {
    func policy(_ json: String) throws -> RetentionPolicy {
        try JSONDecoder().decode(RetentionPolicy.self, from: Data(json.utf8))
    }

    @Test("the file's fields over the defaults; an inbox window that would forget a retried webhook is refused")
    func fields() throws {
        let partial = try policy(#"{"eventsDays": 30}"#)
        #expect(partial.eventsDays == 30 && partial.inboxDays == 30 && partial.batchRows == 2000)
        #expect(throws: DecodingError.self) { try policy(#"{"inboxDays": 3}"#) }
        #expect(throws: DecodingError.self) { try policy(#"{"eventsDays": 0}"#) }
        #expect(throws: DecodingError.self) { try policy(#"{"batchRows": 0}"#) }
        let file = try RetentionPolicy.load(from: Repository.root + "/Config/retention.json")
        #expect(file == .defaults)
        #expect(try RetentionPolicy.load(from: "/nonexistent/retention.json") == .defaults)
    }

    @Test("cutoffs: each table's window back from now")
    func cutoffs() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let cutoffs = RetentionPolicy.defaults.cutoffs(now: now)
        #expect(cutoffs[.events] == now.addingTimeInterval(-90 * 86_400))
        #expect(cutoffs[.inbox] == now.addingTimeInterval(-30 * 86_400))
        #expect(cutoffs.count == RetainedTable.allCases.count)
    }

    @Test("a weekly job at monday 02:00 ticks on Mondays at 02:00 UTC; a daily one at 03:00; a bad time is refused")
    func times() throws {
        let weekly = Schedule.Entry(name: "weekly-rollup", everySeconds: 604_800, at: "monday 02:00")
        // Wednesday 2026-12-09 10:00 UTC is in the tick of Monday 2026-12-07 02:00 UTC.
        let wednesday = Date(timeIntervalSince1970: 1_796_810_400)
        let tick = Schedule.tick(containing: wednesday, everySeconds: 604_800, offsetSeconds: weekly.offsetSeconds!)
        #expect(tick == Date(timeIntervalSince1970: 1_796_608_800))
        // Monday 01:59 is still the week before's.
        let early = Schedule.tick(
            containing: Date(timeIntervalSince1970: 1_796_608_740), everySeconds: 604_800,
            offsetSeconds: weekly.offsetSeconds!)
        #expect(early == Date(timeIntervalSince1970: 1_796_608_800 - 604_800))
        let daily = Schedule.Entry(name: "retention", everySeconds: 86_400, at: "03:00")
        #expect(
            Schedule.tick(containing: wednesday, everySeconds: 86_400, offsetSeconds: daily.offsetSeconds!)
                == Date(timeIntervalSince1970: 1_796_785_200))
        #expect(Schedule.Entry(name: "x", everySeconds: 900, at: "03:00").offsetSeconds == nil)
        #expect(Schedule.Entry(name: "x", everySeconds: 86_400, at: "monday 03:00").offsetSeconds == nil)
        #expect(Schedule.Entry(name: "x", everySeconds: 604_800, at: "someday 03:00").offsetSeconds == nil)
        #expect(Schedule.Entry(name: "x", everySeconds: 86_400, at: "25:00").offsetSeconds == nil)
        let schedule = try Schedule.load(from: Repository.root + "/Config/schedule.json")
        #expect(schedule.jobs.allSatisfy { $0.offsetSeconds != nil })
    }
}

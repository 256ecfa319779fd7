import BullpenMessaging
import Testing

@Suite("Deadline")
struct DeadlineTests {
    struct Boom: Error {}

    @Test("the work's answer in time; past the deadline, Expired at the deadline while the work goes on")
    func deadline() async throws {
        #expect(try await Deadline.run(within: .seconds(1)) { 42 } == 42)
        await #expect(throws: Boom.self) { try await Deadline.run(within: .seconds(1)) { throw Boom() } }
        let started = ContinuousClock.now
        await #expect(throws: Deadline.Expired.self) {
            try await Deadline.run(within: .milliseconds(100)) {
                try await Task.sleep(for: .seconds(2))
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(1), "answered at the deadline, not when the work ended")
    }
}

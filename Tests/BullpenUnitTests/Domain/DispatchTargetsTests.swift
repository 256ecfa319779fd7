import BullpenDomain
import Testing

@Suite("Dispatch targets")
struct DispatchTargetsTests {
    @Test("the seed's bands: Critical 5 min, High 1 h, Normal 4 h, Low 12 h, Background none; the SQL says the same")
    func bands() {
        #expect([5, 4, 3, 2, 1].map(DispatchTargets.seconds(priority:)) == [300, 3600, 14_400, 43_200, nil])
        #expect(
            DispatchTargets.sql("p")
                == "CASE WHEN p >= 5 THEN 300 WHEN p = 4 THEN 3600 WHEN p = 3 THEN 14400 WHEN p = 2 THEN 43200 END")
        #expect(DispatchTargets.label(priority: 5) == "Critical" && DispatchTargets.label(priority: 1) == "Background")
    }
}

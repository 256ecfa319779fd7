import BullpenDomain
import Foundation
import Testing

@testable import BullpenWorkers

@Suite("Command appliers")
struct CommandAppliersTests {
    @Test("the worker can apply every kind of command in the catalog")
    func everyKindApplies() {
        let missing = CommandCatalog.payloads.filter { !($0 is any AppliedCommand.Type) }.map { $0.kind.rawValue }
        #expect(missing.isEmpty, "no applier for \(missing)")
    }

    @Test("a command's outcome is the JSON object its row records: ids by name, lists by name")
    func outcomes() throws {
        let row = try JSONSerialization.jsonObject(with: Data(JSONBody.encode(RowOutcome("taskId", 7))))
        #expect(row as? [String: Int] == ["taskId": 7])
        let replay = try JSONSerialization.jsonObject(
            with: Data(JSONBody.encode(DeadLetterOutcome(key: "replayed", resolved: [1, 2], notParked: [3]))))
        #expect(replay as? [String: [Int]] == ["replayed": [1, 2], "notParked": [3]])
    }
}

import Foundation
import Testing

@testable import BullpenStore

@Suite("Migrations")
struct MigrationListTests {
    @Test(
        "every migration file is in Migration.all, once, numbered 1 to N in order (migration 19 was written and never run)"
    )
    func everyFileListed() throws {
        let folder = Repository.root + "/Sources/BullpenStore/Schema/Migrations"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("V") }
        let fileVersions = files.compactMap { Int($0.dropFirst().prefix(3)) }.sorted()
        #expect(fileVersions.count == files.count, "a migration file without a number: \(files)")
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
        #expect(Migration.all.map(\.version) == fileVersions)
    }
}

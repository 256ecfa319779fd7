import Crypto
import Foundation

/// Where deliverables' files are kept, by content: a file's id is the SHA-256 of its bytes
/// (`sha256-<64 hex>`), so the same file stored twice is one copy, and an id names its bytes for good.
public protocol FileStore: Sendable {
    /// Stores the bytes (once) and returns their id.
    func put(_ bytes: [UInt8]) throws -> String
    /// The bytes of an id; nil when the store has none.
    func get(_ id: String) throws -> [UInt8]?
}

public enum FileID {
    public static let prefix = "sha256-"

    public static func of(_ bytes: [UInt8]) -> String {
        prefix + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// `sha256-` and 64 lowercase hex digits: nothing else reaches a path.
    public static func isValid(_ id: String) -> Bool {
        id.hasPrefix(prefix) && id.utf8.count == prefix.utf8.count + 64
            && id.utf8.dropFirst(prefix.utf8.count).allSatisfy {
                (0x30...0x39).contains($0) || (0x61...0x66).contains($0)
            }
    }
}

/// The default store: files under a folder of the data directory, `<root>/<first two hex digits>/<id>`,
/// written to a temporary name and renamed, so a reader never sees half a file.
public struct LocalFileStore: FileStore {
    public let root: String

    public init(root: String) { self.root = root }

    func path(_ id: String) -> String {
        let hex = id.dropFirst(FileID.prefix.count)
        return root + "/" + hex.prefix(2) + "/" + id
    }

    public func put(_ bytes: [UInt8]) throws -> String {
        let id = FileID.of(bytes)
        let target = path(id)
        if FileManager.default.fileExists(atPath: target) { return id }
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.\(id).\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, target) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
        return id
    }

    public func get(_ id: String) throws -> [UInt8]? {
        guard FileID.isValid(id), let data = FileManager.default.contents(atPath: path(id)) else { return nil }
        return Array(data)
    }
}

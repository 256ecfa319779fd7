import Foundation

/// A settings file of `Config/`: read and parsed, a missing one standing for its defaults; a file that does
/// not parse is refused with its path and the reason.
public enum ConfigFile {
    public static func load<T>(
        _ path: String, missing: @autoclosure () -> T, _ parse: (Data) throws -> T
    ) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { return missing() }
        do { return try parse(data) } catch { throw ConfigFileError(description: "\(path): \(error)") }
    }
}

public struct ConfigFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

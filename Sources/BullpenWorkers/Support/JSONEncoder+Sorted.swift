import Foundation

extension JSONEncoder {
    /// Keys sorted, so that the same value always encodes to the same text.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

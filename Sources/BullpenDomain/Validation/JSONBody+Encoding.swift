import Foundation

extension JSONBody {
    /// The one encoder for every JSON body Bullpen writes (messages, HTTP answers): keys sorted, so equal values
    /// give equal bytes. Shared: creating an encoder per call costs more than encoding a small body.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The JSON bytes of a value.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }
}

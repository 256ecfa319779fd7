/// A closed set of string values (a status, a plan, a specialization). Decoding a value outside the set fails
/// with "must be one of: ...", which a request's error then names with its field.
public protocol Choice: RawRepresentable<String>, CaseIterable, Codable, Sendable {}

extension Choice {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "must be one of: \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = value
    }

    /// "one of: a, b, c", for messages.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

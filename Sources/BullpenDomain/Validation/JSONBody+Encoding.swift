import Foundation

extension JSONBody {
    /// The one encoder for every JSON body Bullpen writes (messages, HTTP answers): keys sorted, so equal values
    /// give equal bytes; times in ISO 8601. Shared: creating an encoder per call costs more than encoding a
    /// small body.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// The decoder that reads what ``encode(_:)`` writes.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// The JSON bytes of a value.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    /// A value from JSON written by Bullpen (a message body); errors as the decoder throws them.
    public static func decodeTrusted<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws -> T {
        try decoder.decode(T.self, from: Data(body))
    }

    /// A value from a request body, with errors that name the field: "priority must be an integer",
    /// "title is required", "colour is not a known field". `allowedFields` lists the top-level keys the body
    /// may have (a typo is refused, not ignored); `adding` puts values from the path (an id) into the object
    /// before it is decoded, and such a key may not also come in the body.
    public static func decode<T: Decodable>(
        _ type: T.Type, from body: [UInt8], allowedFields: Set<String>, adding extra: [String: Any] = [:]
    ) throws(ValidationError) -> T {
        var object = try self.object(body)
        for key in object.keys.sorted() where !allowedFields.contains(key) || extra[key] != nil {
            throw ValidationError(field: key, message: "is not a field of this request")
        }
        for key in object.keys.sorted() where object[key] is NSNull {
            throw ValidationError(field: key, message: Self.nullMessage)
        }
        for (key, value) in extra { object[key] = value }
        do {
            // Without values to add, the body as it came decodes as it is (no second serialization).
            return extra.isEmpty ? try decoder.decode(T.self, from: Data(body)) : try decodeObject(T.self, object)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw locateNonInteger(in: object)
            }
            throw validationError(error)
        } catch {
            throw ValidationError(field: "", message: "the body cannot be read: \(error)")
        }
    }

    private static func decodeObject<T: Decodable>(_ type: T.Type, _ object: [String: Any]) throws -> T {
        try decoder.decode(T.self, from: try JSONSerialization.data(withJSONObject: object))
    }

    /// Names the field of an error the decoder reports without a path: on this platform, a number that does
    /// not fit the integer it decodes to (every number Bullpen reads is an integer; times are ``Timestamp``s,
    /// whose errors have a path).
    private static func locateNonInteger(in object: [String: Any]) -> ValidationError {
        func integral(_ value: Any) -> Bool {
            guard let number = value as? NSNumber, !(value is Bool) else { return true }
            return Int64(exactly: number.doubleValue) != nil
        }
        for key in object.keys.sorted() {
            if let array = object[key] as? [Any], let index = array.firstIndex(where: { !integral($0) }) {
                return ValidationError(field: "\(key)[\(index)]", message: "must be an integer")
            }
            if let value = object[key], !integral(value) {
                return ValidationError(field: key, message: "must be an integer")
            }
        }
        return ValidationError(field: "", message: "the body cannot be read")
    }

    /// What an explicit `null` gets: a field is either given or left out.
    static let nullMessage = "must not be null; leave the field out instead"

    /// For a nested object's `init(from:)`: fails at the first key that is not one of `allowed` ("is not a
    /// field of this request") or is `null`, as the top level of a request does.
    public static func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(
        _ decoder: any Decoder, allowed: Keys.Type
    )
        throws
    {
        let container = try decoder.container(keyedBy: AnyKey.self)
        let names = Set(Keys.allCases.map(\.stringValue))
        if let unknown = container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }).first(where: {
            !names.contains($0.stringValue)
        }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: container, debugDescription: "is not a field of this request")
        }
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where try container.decodeNil(forKey: key) {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: nullMessage)
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        let intValue: Int? = nil
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A decoding error as the field and what is wrong with it.
    static func validationError(_ error: DecodingError) -> ValidationError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return ValidationError(field: path(context.codingPath + [key]), message: "is required")
        case .valueNotFound(_, let context):
            return ValidationError(field: path(context.codingPath), message: "is required")
        case .typeMismatch(let type, let context):
            return ValidationError(field: path(context.codingPath), message: "must be \(describe(type))")
        case .dataCorrupted(let context):
            if context.debugDescription.hasPrefix("must") || context.debugDescription.hasPrefix("is not a field") {
                return ValidationError(field: path(context.codingPath), message: context.debugDescription)
            }
            return ValidationError(
                field: path(context.codingPath), message: "is not valid: \(context.debugDescription)")
        @unknown default:
            return ValidationError(field: "", message: "the body cannot be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is Date.Type: return "a time in ISO 8601 (2026-12-01T17:00:00Z)"
        case is [Any].Type: return "an array"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "an array" : name.hasPrefix("Dictionary") ? "an object" : "a \(name)"
        }
    }
}

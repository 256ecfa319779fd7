import Foundation

/// Field-by-field reading of a JSON object, so errors can name the field.
public enum JSONBody {
    public static func object(_ body: [UInt8]) throws(ValidationError) -> [String: Any] {
        guard !body.isEmpty else { throw ValidationError(field: "", message: "the body is empty; send a JSON object") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw ValidationError(field: "", message: "the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw ValidationError(field: "", message: "the body must be a JSON object")
        }
        return object
    }

    public static func requiredInt64(_ object: [String: Any], _ field: String) throws(ValidationError) -> Int64 {
        guard let value = object[field], !(value is NSNull) else {
            throw ValidationError(field: field, message: "is required")
        }
        guard let number = value as? NSNumber, !isBool(number), let exact = Int64(exactly: number.doubleValue),
            Double(exact) == number.doubleValue
        else {
            throw ValidationError(field: field, message: "must be an integer")
        }
        return exact
    }

    /// A row's id: a positive integer, or the same written as a decimal string (`"5"`: agents are language
    /// models following a prompt, and some quote every value). Nothing looser: no sign, space, fraction or
    /// leading zero, at most 18 digits.
    public static func requiredID(_ object: [String: Any], _ field: String) throws(ValidationError) -> Int64 {
        if let text = object[field] as? String {
            guard let first = text.utf8.first, first != UInt8(ascii: "0"), text.utf8.count <= 18,
                text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let id = Int64(text)
            else {
                throw ValidationError(field: field, message: "must be a positive integer (or one written as a string)")
            }
            return id
        }
        let id = try requiredInt64(object, field)
        guard id > 0 else { throw ValidationError(field: field, message: "must be a positive integer") }
        return id
    }

    public static func requiredString(_ object: [String: Any], _ field: String) throws(ValidationError) -> String {
        guard let value = object[field], !(value is NSNull) else {
            throw ValidationError(field: field, message: "is required")
        }
        return try text(value, field)
    }

    public static func optionalString(_ object: [String: Any], _ field: String) throws(ValidationError) -> String? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        return try text(value, field)
    }

    /// A string value. PostgreSQL text cannot hold U+0000, so a string with one is refused here, naming the
    /// field, instead of being stored cut short.
    private static func text(_ value: Any, _ field: String) throws(ValidationError) -> String {
        guard let text = value as? String else { throw ValidationError(field: field, message: "must be a string") }
        guard !text.utf8.contains(0) else {
            throw ValidationError(field: field, message: "must not contain a NUL character (U+0000)")
        }
        return text
    }

    static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true))
    }
}

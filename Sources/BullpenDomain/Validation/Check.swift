import Foundation

/// Checks of decoded request values, each naming the field it refuses.
public enum Check {
    /// Text of at most `range.upperBound` characters as PostgreSQL counts them (Unicode scalars), not empty
    /// after trimming spaces when `range` starts above 0, with no NUL (PostgreSQL text cannot hold one).
    @discardableResult
    public static func text(
        _ value: String, _ field: String, length range: ClosedRange<Int>
    ) throws(ValidationError)
        -> String
    {
        guard !value.utf8.contains(0) else {
            throw ValidationError(field: field, message: "must not contain a NUL character (U+0000)")
        }
        if range.lowerBound > 0, value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError(field: field, message: "must not be empty")
        }
        let count = value.unicodeScalars.count
        guard range.contains(count) else {
            throw ValidationError(
                field: field, message: "must be \(range.lowerBound) to \(range.upperBound) characters")
        }
        return value
    }

    public static func text(_ value: String?, _ field: String, length range: ClosedRange<Int>) throws(ValidationError) {
        if let value { try text(value, field, length: range) }
    }

    public static func range<T: Comparable>(
        _ value: T?, _ field: String, _ range: ClosedRange<T>
    ) throws(ValidationError) {
        guard let value else { return }
        guard range.contains(value) else {
            throw ValidationError(field: field, message: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
    }

    public static func positive(_ value: Int64, _ field: String) throws(ValidationError) {
        guard value > 0 else { throw ValidationError(field: field, message: "must be a positive id") }
    }

    public static func email(_ value: String?, _ field: String) throws(ValidationError) {
        guard let value else { return }
        try text(value, field, length: 3...254)
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !value.contains(where: \.isWhitespace)
        else { throw ValidationError(field: field, message: "must be an email address") }
    }

    /// An http or https URL with a host, of at most 500 characters (a webhook).
    public static func webURL(_ value: String?, _ field: String) throws(ValidationError) {
        guard let value else { return }
        try text(value, field, length: 10...500)
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
            !value.contains(where: \.isWhitespace)
        else { throw ValidationError(field: field, message: "must be an http or https URL") }
    }

    /// A Slack conversation id: C (a channel) or G (a private one), then 8 to 20 upper-case letters and digits.
    /// A Clerk user id: `user_` then letters and digits.
    public static func clerkUser(_ value: String?, _ field: String) throws(ValidationError) {
        guard let value else { return }
        guard value.hasPrefix("user_"), (6...64).contains(value.count),
            value.dropFirst(5).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { throw ValidationError(field: field, message: "must be a Clerk user id (user_ then letters and digits)") }
    }

    /// A Discord channel id: a snowflake, 17 to 20 digits.
    public static func discordChannel(_ value: String?, _ field: String) throws(ValidationError) {
        guard let value else { return }
        guard (17...20).contains(value.count), value.allSatisfy({ ("0"..."9").contains($0) }) else {
            throw ValidationError(field: field, message: "must be a Discord channel id (17 to 20 digits)")
        }
    }

    public static func slackChannel(_ value: String?, _ field: String) throws(ValidationError) {
        guard let value else { return }
        guard (9...21).contains(value.count), value.first == "C" || value.first == "G",
            value.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) })
        else {
            throw ValidationError(
                field: field, message: "must be a Slack channel id (C or G, then 8 to 20 capitals and digits)")
        }
    }

    /// At least one of the fields of a change is set.
    public static func someChange(_ values: [Any?]) throws(ValidationError) {
        guard values.contains(where: { $0 != nil }) else {
            throw ValidationError(field: "", message: "the body changes nothing; send at least one field")
        }
    }
}

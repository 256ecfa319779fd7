import Foundation

/// A Swift value that can be sent as a text-format query parameter.
public protocol PGEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var pgText: String { get }
}

/// A Swift value that can be read from a text-format result column.
public protocol PGDecodable {
    init(pgText: String) throws
}

extension String: PGEncodable, PGDecodable {
    public var pgText: String { self }
    public init(pgText: String) { self = pgText }
}

extension PGEncodable where Self: FixedWidthInteger {
    public var pgText: String { String(self) }
}

extension PGDecodable where Self: FixedWidthInteger {
    public init(pgText: String) throws {
        guard let v = Self(pgText, radix: 10) else { throw PGError(.decoding, "not an integer: \(pgText.prefix(40))") }
        self = v
    }
}

extension Int: PGEncodable, PGDecodable {}
extension Int64: PGEncodable, PGDecodable {}
extension Int32: PGEncodable, PGDecodable {}
extension Int16: PGEncodable, PGDecodable {}

extension Double: PGEncodable, PGDecodable {
    public var pgText: String { String(self) }
    public init(pgText: String) throws {
        guard let v = Double(pgText) else { throw PGError(.decoding, "not a number: \(pgText.prefix(40))") }
        self = v
    }
}

extension Bool: PGEncodable, PGDecodable {
    public var pgText: String { self ? "t" : "f" }
    public init(pgText: String) throws {
        switch pgText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PGError(.decoding, "not a boolean: \(pgText.prefix(40))")
        }
    }
}

/// bytea, sent and read in hex format (`\x0a1b...`).
public struct PGBytes: PGEncodable, PGDecodable, Equatable, Sendable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var pgText: String {
        "\\x"
            + bytes.map { byte in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined()
    }

    public init(pgText: String) throws {
        guard pgText.hasPrefix("\\x") else { throw PGError(.decoding, "bytea is not in hex format") }
        let hex = Array(pgText.utf8.dropFirst(2))
        guard hex.count % 2 == 0 else { throw PGError(.decoding, "bytea hex has an odd length") }
        var out: [UInt8] = []
        out.reserveCapacity(hex.count / 2)
        var i = 0
        while i < hex.count {
            guard let v = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else {
                throw PGError(.decoding, "bytea has a bad hex digit")
            }
            out.append(v)
            i += 2
        }
        bytes = out
    }
}

extension Date: PGEncodable, PGDecodable {
    /// timestamptz in ISO 8601 with microseconds, UTC.
    public var pgText: String {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        return PGTimestamp.format(microsecondsSinceEpoch: Int64(micros))
    }

    /// Reads timestamptz as the server prints it with TimeZone=UTC: `2026-11-25 13:34:47.123456+00`.
    public init(pgText: String) throws {
        guard let micros = PGTimestamp.parse(pgText) else {
            throw PGError(.decoding, "not a timestamp: \(pgText.prefix(40))")
        }
        self = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}

/// Timestamp text in and out without a DateFormatter (which is slow and locale-bound).
enum PGTimestamp {
    static func parse(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var v = 0
            for c in u[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var index = 19
        var micros = 0
        if index < u.count, u[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < u.count, u[index] >= 48, u[index] <= 57 {
                if digits < 6 {
                    micros = micros * 10 + Int(u[index] - 48)
                    digits += 1
                }
                index += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
        }
        var offsetSeconds = 0
        if index < u.count, u[index] == UInt8(ascii: "+") || u[index] == UInt8(ascii: "-") {
            let sign = u[index] == UInt8(ascii: "-") ? -1 : 1
            let h = number(index + 1, 2) ?? 0
            var m = 0
            if index + 3 < u.count, u[index + 3] == UInt8(ascii: ":") { m = number(index + 4, 2) ?? 0 }
            offsetSeconds = sign * (h * 3600 + m * 60)
        }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    static func format(microsecondsSinceEpoch: Int64) -> String {
        var seconds = microsecondsSinceEpoch / 1_000_000
        var micros = microsecondsSinceEpoch % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (y, m, d) = civilFromDays(Int(days))
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(Int(rest / 3600), 2)):\(pad(Int(rest % 3600 / 60), 2)):"
            + "\(pad(Int(rest % 60), 2)).\(pad(Int(micros), 6))+00"
    }

    // Howard Hinnant's civil-calendar algorithms.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// A one-dimensional text array parameter (`text[]`); nil elements are SQL NULL.
public struct PGArray: PGEncodable {
    public var elements: [String?]

    public init(_ elements: [String?]) {
        self.elements = elements
    }

    public init(_ elements: [String]) {
        self.elements = elements
    }

    public var pgText: String {
        "{"
            + elements.map { element -> String in
                guard let element else { return "NULL" }
                // By Unicode scalar, not by Character: a quote followed by a combining mark or an emoji
                // modifier is one Character that is not equal to "\"", and would go out unescaped.
                var quoted = String.UnicodeScalarView()
                quoted.append("\"")
                for scalar in element.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { quoted.append("\\") }
                    quoted.append(scalar)
                }
                quoted.append("\"")
                return String(quoted)
            }.joined(separator: ",") + "}"
    }
}

import AMQP
import Foundation

extension AMQPFieldValue {
    /// A JSON-compatible value, for storing headers in PostgreSQL (jsonb) and printing them.
    public var jsonValue: Any {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        case .bool(let b): return b
        case .int32(let i): return Int(i)
        case .int64(let i): return Int(i)
        case .double(let d): return d
        case .timestamp(let t): return Int(t)
        case .table(let t): return t.mapValues { $0.jsonValue }
        case .array(let a): return a.map { $0.jsonValue }
        case .void: return NSNull()
        }
    }
}

extension Dictionary where Key == String, Value == AMQPFieldValue {
    /// The table stored by ``jsonString`` (outbox rows, dead letters), read back: strings, integers, doubles
    /// and booleans; anything else is dropped. Not JSON, or not an object: an empty table.
    public init(json: String) {
        self.init()
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return }
        for (key, value) in object {
            switch value {
            case let text as String:
                self[key] = .string(text)
            case let number as NSNumber where type(of: number) == type(of: NSNumber(value: true)):
                self[key] = .bool(number.boolValue)
            case let number as NSNumber where Double(number.int64Value) == number.doubleValue:
                self[key] = .int64(number.int64Value)
            case let number as NSNumber:
                self[key] = .double(number.doubleValue)
            default:
                continue
            }
        }
    }

    /// The table as a JSON object string.
    public var jsonString: String {
        let object = mapValues { $0.jsonValue }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}

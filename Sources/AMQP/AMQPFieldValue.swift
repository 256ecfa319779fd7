/// A value in an AMQP field table: queue arguments, message headers, `x-death` entries.
public indirect enum AMQPFieldValue: Sendable, Equatable, Hashable {
    case string(String)
    case bytes([UInt8])
    case bool(Bool)
    /// Encoded as a 32-bit signed integer: what RabbitMQ expects for x-max-priority, x-message-ttl ...
    case int32(Int32)
    /// Encoded as a 64-bit signed integer. Every integer read from the wire decodes to this case
    /// unless it was 32-bit signed.
    case int64(Int64)
    case double(Double)
    /// Seconds since the Unix epoch.
    case timestamp(UInt64)
    case table(AMQPTable)
    case array([AMQPFieldValue])
    case void

    /// The value as an integer, whatever its integer width on the wire.
    public var intValue: Int? {
        switch self {
        case .int32(let v): return Int(v)
        case .int64(let v): return Int(v)
        case .timestamp(let v): return Int(v)
        case .string(let s): return Int(s)
        default: return nil
        }
    }

    /// The value as text where it is text.
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
}

/// An AMQP field table.
public typealias AMQPTable = [String: AMQPFieldValue]

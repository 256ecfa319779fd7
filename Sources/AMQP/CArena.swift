import CAMQP

#if canImport(Glibc)
    import Glibc
#endif

/// Owns the C memory behind the strings and tables of one library call; frees it all at once.
/// rabbitmq-c's `amqp_bytes_t` does not copy, so the memory must outlive the call it is passed to.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let block = malloc(max(size, 1))!
        blocks.append(block)
        return block
    }

    func bytes(_ text: String) -> amqp_bytes_t {
        bytes(Array(text.utf8))
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        let block = allocate(data.count)
        data.withUnsafeBytes { raw in
            if let base = raw.baseAddress { block.copyMemory(from: base, byteCount: data.count) }
        }
        return amqp_bytes_t(len: data.count, bytes: block)
    }

    func cString(_ text: String) -> UnsafePointer<CChar> {
        let utf8 = Array(text.utf8CString)
        let block = allocate(utf8.count)
        utf8.withUnsafeBytes { raw in block.copyMemory(from: raw.baseAddress!, byteCount: utf8.count) }
        return UnsafePointer(block.assumingMemoryBound(to: CChar.self))
    }

    func table(_ table: AMQPTable) -> amqp_table_t {
        guard !table.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(MemoryLayout<amqp_table_entry_t>.stride * table.count)
            .bindMemory(to: amqp_table_entry_t.self, capacity: table.count)
        for (index, (key, value)) in table.sorted(by: { $0.key < $1.key }).enumerated() {
            entries[index] = amqp_table_entry_t(key: bytes(key), value: field(value))
        }
        return amqp_table_t(num_entries: Int32(table.count), entries: entries)
    }

    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let s):
            field.kind = kind(AMQP_FIELD_KIND_UTF8)
            field.value.bytes = bytes(s)
        case .bytes(let b):
            field.kind = kind(AMQP_FIELD_KIND_BYTES)
            field.value.bytes = bytes(b)
        case .bool(let b):
            field.kind = kind(AMQP_FIELD_KIND_BOOLEAN)
            field.value.boolean = b ? 1 : 0
        case .int32(let i):
            field.kind = kind(AMQP_FIELD_KIND_I32)
            field.value.i32 = i
        case .int64(let i):
            field.kind = kind(AMQP_FIELD_KIND_I64)
            field.value.i64 = i
        case .double(let d):
            field.kind = kind(AMQP_FIELD_KIND_F64)
            field.value.f64 = d
        case .timestamp(let t):
            field.kind = kind(AMQP_FIELD_KIND_TIMESTAMP)
            field.value.u64 = t
        case .table(let t):
            field.kind = kind(AMQP_FIELD_KIND_TABLE)
            field.value.table = table(t)
        case .array(let items):
            field.kind = kind(AMQP_FIELD_KIND_ARRAY)
            let values = allocate(MemoryLayout<amqp_field_value_t>.stride * max(items.count, 1))
                .bindMemory(to: amqp_field_value_t.self, capacity: max(items.count, 1))
            for (index, item) in items.enumerated() { values[index] = self.field(item) }
            field.value.array = amqp_array_t(num_entries: Int32(items.count), entries: values)
        case .void:
            field.kind = kind(AMQP_FIELD_KIND_VOID)
        }
        return field
    }

    private func kind(_ k: amqp_field_value_kind_t) -> UInt8 { UInt8(k.rawValue) }
}

/// Copies C tables and byte strings into Swift values.
enum CDecode {
    static func bytes(_ b: amqp_bytes_t) -> [UInt8] {
        guard b.len > 0, let base = b.bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: b.len))
    }

    static func string(_ b: amqp_bytes_t) -> String {
        String(decoding: bytes(b), as: UTF8.self)
    }

    static func table(_ t: amqp_table_t) -> AMQPTable {
        var result: AMQPTable = [:]
        guard t.num_entries > 0, let entries = t.entries else { return result }
        for i in 0..<Int(t.num_entries) {
            result[string(entries[i].key)] = field(entries[i].value)
        }
        return result
    }

    static func field(_ f: amqp_field_value_t) -> AMQPFieldValue {
        switch UInt32(f.kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: return .bool(f.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int64(Int64(f.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: return .int64(Int64(f.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: return .int64(Int64(f.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: return .int64(Int64(f.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: return .int32(f.value.i32)
        case AMQP_FIELD_KIND_U32.rawValue: return .int64(Int64(f.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: return .int64(f.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: return .int64(Int64(bitPattern: f.value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: return .double(Double(f.value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: return .double(f.value.f64)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: return .timestamp(f.value.u64)
        case AMQP_FIELD_KIND_UTF8.rawValue: return .string(string(f.value.bytes))
        case AMQP_FIELD_KIND_BYTES.rawValue: return .bytes(bytes(f.value.bytes))
        case AMQP_FIELD_KIND_TABLE.rawValue: return .table(table(f.value.table))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            let array = f.value.array
            guard array.num_entries > 0, let entries = array.entries else { return .array([]) }
            return .array((0..<Int(array.num_entries)).map { field(entries[$0]) })
        default: return .void
        }
    }

    static func properties(_ p: amqp_basic_properties_t) -> AMQPProperties {
        func has(_ flag: amqp_flags_t) -> Bool { p._flags & flag != 0 }
        var result = AMQPProperties(persistent: false)
        if has(BP_AMQP_BASIC_CONTENT_TYPE_FLAG) { result.contentType = string(p.content_type) }
        if has(BP_AMQP_BASIC_DELIVERY_MODE_FLAG) { result.persistent = p.delivery_mode == 2 }
        if has(BP_AMQP_BASIC_PRIORITY_FLAG) { result.priority = p.priority }
        if has(BP_AMQP_BASIC_CORRELATION_ID_FLAG) { result.correlationID = string(p.correlation_id) }
        if has(BP_AMQP_BASIC_REPLY_TO_FLAG) { result.replyTo = string(p.reply_to) }
        if has(BP_AMQP_BASIC_EXPIRATION_FLAG) { result.expiration = string(p.expiration) }
        if has(BP_AMQP_BASIC_MESSAGE_ID_FLAG) { result.messageID = string(p.message_id) }
        if has(BP_AMQP_BASIC_TIMESTAMP_FLAG) { result.timestamp = p.timestamp }
        if has(BP_AMQP_BASIC_TYPE_FLAG) { result.type = string(p.type) }
        if has(BP_AMQP_BASIC_APP_ID_FLAG) { result.appID = string(p.app_id) }
        if has(BP_AMQP_BASIC_HEADERS_FLAG) { result.headers = table(p.headers) }
        return result
    }
}

extension CArena {
    func properties(_ p: AMQPProperties) -> amqp_basic_properties_t {
        var props = amqp_basic_properties_t()
        var flags: amqp_flags_t = BP_AMQP_BASIC_DELIVERY_MODE_FLAG
        props.delivery_mode = p.persistent ? 2 : 1
        if let v = p.contentType {
            props.content_type = bytes(v)
            flags |= BP_AMQP_BASIC_CONTENT_TYPE_FLAG
        }
        if let v = p.priority {
            props.priority = v
            flags |= BP_AMQP_BASIC_PRIORITY_FLAG
        }
        if let v = p.correlationID {
            props.correlation_id = bytes(v)
            flags |= BP_AMQP_BASIC_CORRELATION_ID_FLAG
        }
        if let v = p.replyTo {
            props.reply_to = bytes(v)
            flags |= BP_AMQP_BASIC_REPLY_TO_FLAG
        }
        if let v = p.expiration {
            props.expiration = bytes(v)
            flags |= BP_AMQP_BASIC_EXPIRATION_FLAG
        }
        if let v = p.messageID {
            props.message_id = bytes(v)
            flags |= BP_AMQP_BASIC_MESSAGE_ID_FLAG
        }
        if let v = p.timestamp {
            props.timestamp = v
            flags |= BP_AMQP_BASIC_TIMESTAMP_FLAG
        }
        if let v = p.type {
            props.type = bytes(v)
            flags |= BP_AMQP_BASIC_TYPE_FLAG
        }
        if let v = p.appID {
            props.app_id = bytes(v)
            flags |= BP_AMQP_BASIC_APP_ID_FLAG
        }
        if !p.headers.isEmpty {
            props.headers = table(p.headers)
            flags |= BP_AMQP_BASIC_HEADERS_FLAG
        }
        props._flags = flags
        return props
    }
}

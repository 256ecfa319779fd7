/// The Server-Sent Events wire format, fed in chunks as they arrive (a chunk may end mid-line): `id:`,
/// `event:` and `data:` fields, an event ending at a blank line, comment lines (`:`) ignored.
public struct EventStreamParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var id: String?
        public var type: String?
        public var data: String

        public init(id: String?, type: String?, data: String) {
            self.id = id
            self.type = type
            self.data = data
        }
    }

    private var pending: [UInt8] = []
    private var current = Event(id: nil, type: nil, data: "")
    private var hasData = false

    public init() {}

    /// The events that this chunk completes.
    public mutating func feed(_ chunk: [UInt8]) -> [Event] {
        pending.append(contentsOf: chunk)
        var events: [Event] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            pending.removeSubrange(...newline)
            let text = String(decoding: line, as: UTF8.self)
            if text.isEmpty {
                if hasData { events.append(current) }
                current = Event(id: nil, type: nil, data: "")
                hasData = false
                continue
            }
            if text.hasPrefix(":") { continue }
            let (field, value) = Self.split(text)
            switch field {
            case "id": current.id = value
            case "event": current.type = value
            case "data":
                current.data += hasData ? "\n" + value : value
                hasData = true
            default: break
            }
        }
        return events
    }

    private static func split(_ line: String) -> (String, String) {
        guard let colon = line.firstIndex(of: ":") else { return (line, "") }
        var value = line[line.index(after: colon)...]
        if value.first == " " { value = value.dropFirst() }
        return (String(line[..<colon]), String(value))
    }
}

import BullpenAPIClient
import Testing

@Suite("Server-Sent Events parser")
struct EventStreamParserTests {
    @Test("events split anywhere across chunks, comments skipped, CRLF and multi-line data")
    func chunks() {
        let wire =
            ": events after 0\n\nid: 7\nevent: task.created\ndata: {\"id\": 7}\n\n: heartbeat\n\nid: 8\r\nevent: x.y\r\ndata: a\r\ndata: b\r\n\r\n"
        let bytes = Array(wire.utf8)
        for cut in [1, 3, 17, 40, bytes.count] {
            var parser = EventStreamParser()
            var events: [EventStreamParser.Event] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + cut)
                events += parser.feed(Array(bytes[start..<end]))
                start = end
            }
            #expect(
                events == [
                    .init(id: "7", type: "task.created", data: "{\"id\": 7}"),
                    .init(id: "8", type: "x.y", data: "a\nb"),
                ], "chunks of \(cut)")
        }
    }
}

import BullpenStore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// `GET /v1/events/stream`: Server-Sent Events, one per `events` row the token may see, oldest first:
/// `id: <event id>`, `event: <type>`, `data: <the event's JSON>`. Resumable: a client that reconnects with
/// `Last-Event-ID` (or `?after=`) gets every event after that id, so none is lost in between; without
/// either, the stream starts with the events that come next. A comment line every heartbeat keeps the
/// connection alive. The stream ends when ingest shuts down (clients reconnect with their last id).
struct EventStreamRoute {
    let api: OperatorAPI
    let feed: EventFeed
    /// Events read per query; a stream catching up reads page after page.
    static let batch = 200

    func add(to routes: RouterGroup<APIContext>) {
        routes.get("stream") { request, context in
            let viewer = try context.requireCaller().viewer
            let query = try ListQuery(request, filters: ["after"], paged: false)
            var after = try query.integer("after", 0...Int64.max)
            if let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!] {
                guard let id = Int64(lastEventID), id >= 0 else {
                    throw APIError(
                        .badRequest, "Last-Event-ID must be an event id", code: "invalid_header", field: "Last-Event-ID"
                    )
                }
                after = id
            }
            let database = api.database
            let start: Int64
            if let after {
                start = after
            } else {
                do { start = try await database.run { db in try ReadModel.latestEventID(on: db) } } catch {
                    throw APIError.database(error)
                }
            }
            let (signals, cancel) = feed.subscribe()
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    defer { cancel() }
                    var cursor = start
                    try await writer.write(ByteBuffer(string: ": events after \(cursor)\n\n"))
                    var pending = true  // read once at the start: events may have come before the subscription
                    var iterator = signals.cancelOnGracefulShutdown().makeAsyncIterator()
                    while true {
                        while pending {
                            let after = cursor
                            let events = try await database.run { db in
                                try ReadModel.events(after: after, limit: Self.batch, viewer: viewer, on: db)
                            }
                            if !events.isEmpty {
                                try await writer.write(ByteBuffer(string: events.map(Self.frame).joined()))
                                cursor = events.last!.id
                            }
                            pending = events.count == Self.batch
                        }
                        guard let signal = await iterator.next() else { break }
                        switch signal {
                        case .events: pending = true
                        case .heartbeat: try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                        }
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// One event in the SSE wire format.
    static func frame(_ event: ReadModel.StreamedEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(event.json)\n\n"
    }
}

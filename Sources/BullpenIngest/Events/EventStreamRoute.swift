import BullpenStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle

/// `GET /v1/events/stream`: Server-Sent Events, one per `events` row the token may see, in feed order
/// (``EventPosition``: by committing transaction, then id; never an event skipped because a transaction that
/// wrote an earlier id committed later): `id: <cursor>`, `event: <type>`, `data: <the event's JSON, as
/// ``ClientProjection`` shapes it for a client>`. Resumable: a client that reconnects with `Last-Event-ID`
/// (or `?after=`; `0` is the beginning) gets every event after that cursor, so none is lost or repeated in
/// between; without either, the stream starts with the events that come next. A comment line every heartbeat
/// keeps the connection alive. The stream ends when ingest shuts down (clients reconnect with their last
/// cursor), and within ``tokenRecheck`` of its token being revoked or expiring.
struct EventStreamRoute {
    let api: OperatorAPI
    let feed: EventFeed
    let tokens: BatchingLookup<[UInt8], ApiTokens.Token>
    /// Events read per query; a stream catching up reads page after page.
    static let batch = 200
    /// How often an open stream asks the database again whether its token still holds.
    static let tokenRecheck: Duration = .seconds(2)

    func add(to routes: RouterGroup<APIContext>) {
        routes.get("stream") { request, context in
            let viewer = try context.requireCaller().viewer
            let query = try ListQuery(request, filters: ["after"], paged: false)
            var given = query.parameters["after"].map { ("after", $0) }
            if let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!] {
                given = ("Last-Event-ID", lastEventID)
            }
            let database = api.database
            let start: EventPosition
            if let (name, cursor) = given {
                guard let position = api.cursors.position(cursor, for: viewer) else {
                    throw APIError(
                        .badRequest, "\(name) must be a cursor this API gave (an event's id:), or 0 for the beginning",
                        code: name == "after" ? "invalid_query" : "invalid_header", field: name)
                }
                start = position
            } else {
                do { start = try await database.run { db in try ReadModel.feedHorizon(on: db) } } catch {
                    throw APIError.database(error)
                }
            }
            let tokenHash = Array(
                SHA256.hash(
                    data: Array((try BearerToken.parse(request.headers[.authorization], naming: "API token")).utf8)))
            return stream(from: start, viewer: viewer, tokenHash: tokenHash, named: true)
        }
    }

    /// The stream from `start` as `viewer` sees it, until the token of `tokenHash` no longer holds or ingest
    /// stops. `named`: each frame carries its `event:` type (the API's); unnamed frames reach a browser's
    /// `EventSource.onmessage` (the web's).
    func stream(from start: EventPosition, viewer: Viewer, tokenHash: [UInt8], named: Bool) -> Response {
        let database = api.database
        let (signals, cancel) = feed.subscribe()
        let (cursors, tokens) = (api.cursors, tokens)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                defer { cancel() }
                var position = start
                try await writer.write(ByteBuffer(string: ": events\n\n"))
                var pending = true  // read once at the start: events may have come before the subscription
                var heldBack = false
                var checked = ContinuousClock.now
                var iterator = signals.cancelOnGracefulShutdown().makeAsyncIterator()
                streaming: while true {
                    while pending {
                        let after = position
                        let read = try await database.run { db in
                            try ReadModel.events(after: after, limit: Self.batch, viewer: viewer, on: db)
                        }
                        if let last = read.events.last {
                            let frames = read.events.map {
                                Self.frame($0, cursor: cursors.cursor($0.position, for: viewer), named: named)
                            }
                            try await writer.write(ByteBuffer(string: frames.joined()))
                            position = last.position
                        }
                        pending = read.events.count == Self.batch
                        heldBack = read.heldBack
                    }
                    guard let signal = await iterator.next() else { break }
                    switch signal {
                    case .events: pending = true
                    case .heartbeat: try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .tick:
                        pending = heldBack
                        guard ContinuousClock.now - checked >= Self.tokenRecheck else { continue }
                        checked = .now
                        if let refusal = await Self.refusal(tokenHash, tokens: tokens) {
                            try await writer.write(ByteBuffer(string: ": \(refusal)\n\n"))
                            break streaming
                        }
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// Why the stream's token no longer holds (revoked, expired, gone), or nil while it does. Asked of the
    /// database, not the token cache; a database that cannot answer ends nothing (the next check asks again).
    static func refusal(_ hash: [UInt8], tokens: BatchingLookup<[UInt8], ApiTokens.Token>) async -> String? {
        let found: ApiTokens.Token?
        do { found = try await tokens.value(for: hash) } catch { return nil }
        guard let token = found else { return "the API token is gone; the stream ends" }
        if token.revokedAt != nil { return "the API token was revoked; the stream ends" }
        if !token.isActive(at: Date()) { return "the API token has expired; the stream ends" }
        return nil
    }

    /// One event in the SSE wire format, its cursor as its id, and in its JSON.
    static func frame(_ event: ReadModel.FeedEvent, cursor: String, named: Bool = true) -> String {
        "id: \(cursor)\n" + (named ? "event: \(event.type)\n" : "") + "data: \(withCursor(event.json, cursor))\n\n"
    }

    /// An event's JSON object with its cursor as the first field.
    static func withCursor(_ json: String, _ cursor: String) -> String {
        json == "{}" ? "{\"cursor\": \"\(cursor)\"}" : "{\"cursor\": \"\(cursor)\", " + json.dropFirst()
    }
}

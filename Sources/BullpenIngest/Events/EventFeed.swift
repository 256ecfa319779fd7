import BullpenMessaging
import Foundation
import Logging
import PostgreSQL
import ServiceLifecycle
import Synchronization

/// Wakes the live event streams: one PostgreSQL session per ingest process LISTENs on `bullpen_events` (the
/// `events` table's trigger notifies it), and each notification wakes every stream, which then reads the
/// events after its own position. A wake carries no event: a stream that misses one (or a reconnect that
/// misses notifications) loses nothing, since it reads by position. Every `tick` each stream is told the time
/// has come to look again if it must (events held back behind a transaction still in flight commit with no
/// wake of their own) and to re-check its token; every `heartbeat` to send a comment, so proxies and clients
/// see the connection alive.
public final class EventFeed: Service, Sendable {
    public enum Signal: Sendable, Equatable {
        /// New events may be there.
        case events
        /// Nothing new for a while: send a heartbeat.
        case heartbeat
        /// A second (``tick``) has passed.
        case tick
    }

    static let channel = "bullpen_events"

    private let configuration: PostgresConfiguration
    private let heartbeat: Duration
    /// How often streams are ticked. Default 1 s.
    let tick: Duration
    private let logger: Logger
    private let streams = Streams()

    private final class Streams: Sendable {
        let byID = Mutex<[UUID: AsyncStream<Signal>.Continuation]>([:])
    }

    public init(
        configuration: PostgresConfiguration, heartbeat: Duration = .seconds(15), tick: Duration = .seconds(1),
        logger: Logger
    ) {
        self.configuration = configuration
        self.heartbeat = heartbeat
        self.tick = tick
        self.logger = logger
    }

    /// A stream of wakes for one client connection; it ends when `cancel` is called or the feed stops.
    func subscribe() -> (signals: AsyncStream<Signal>, cancel: @Sendable () -> Void) {
        let id = UUID()
        // A few signals deep, so that a tick or a heartbeat never pushes out a wake for new events.
        let (stream, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(4))
        streams.byID.withLock { $0[id] = continuation }
        return (
            stream,
            { [streams] in
                streams.byID.withLock { $0.removeValue(forKey: id) }?.finish()
            }
        )
    }

    public func run() async {
        await BlockingService(name: "bullpen-event-feed") { [self] stop in listen(stop) }.run()
        // The feed stopped: end every stream, so that their responses finish and the server can drain.
        for continuation in streams.byID.withLock({ byID in
            defer { byID.removeAll() }
            return Array(byID.values)
        }) {
            continuation.finish()
        }
    }

    private func listen(_ stop: StopSignal) {
        var session = PostgresSession(configuration)
        defer { session.close() }
        var listening: PGConnection?  // the connection that LISTENs (held, so a new one cannot take its address)
        var lastSignal = ContinuousClock.now
        var lastTick = ContinuousClock.now
        while !stop.isRequested {
            if ContinuousClock.now - lastTick >= tick {
                wake(.tick)
                lastTick = .now
            }
            do {
                let db = try session.connection()
                if listening !== db {
                    try db.listen(Self.channel)
                    listening = db
                    wake(.events)  // what happened while nobody listened is read by id
                }
                let notes = try db.notifications(timeout: .milliseconds(200))
                session.succeeded()
                if !notes.isEmpty {
                    wake(.events)
                    lastSignal = .now
                } else if ContinuousClock.now - lastSignal >= heartbeat {
                    wake(.heartbeat)
                    lastSignal = .now
                }
            } catch {
                listening = nil
                stop.sleep(for: session.failed(error, logger: logger, "event feed lost its database session"))
            }
        }
    }

    private func wake(_ signal: Signal) {
        for continuation in streams.byID.withLock({ Array($0.values) }) { continuation.yield(signal) }
    }
}

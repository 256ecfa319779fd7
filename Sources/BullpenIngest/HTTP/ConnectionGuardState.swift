import HTTPTypes
import NIOHTTPTypes

/// The rules of ``ConnectionGuard``: which deadline a connection is under, what happens when it passes, and
/// whether a malformed request can still be answered. Events in, actions out; no I/O and no clock of its own,
/// so every rule is tested without a socket.
struct ConnectionGuardState {
    /// What the guard does.
    enum Action: Equatable {
        case none
        /// (Re)arm the timer for this instant.
        case arm(ContinuousClock.Instant)
        /// Cancel the timer: the server is answering, and a handler's own time is not the client's fault.
        case disarm
        /// Close the connection without a word (idle keep-alive, or a request whose answer already went).
        case close
        /// Answer with this error, then close.
        case answerAndClose(HTTPResponse.Status, String)
        /// Let the error go on to the server, which closes the connection.
        case propagate
    }

    private enum Phase: Equatable {
        /// Between requests: waiting for the next request head.
        case idle
        /// A request head is in; its body is arriving.
        case readingRequest
        /// The request is in full; the server is answering.
        case answering
    }

    let timeouts: ConnectionTimeouts
    private var phase = Phase.idle
    private var deadline: ContinuousClock.Instant?
    /// Requests whose response end has not been written yet.
    private var responsesOwed = 0
    /// A response head went out and its end has not.
    private var responseStarted = false

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    mutating func opened(now: ContinuousClock.Instant) -> Action {
        arm(now + timeouts.idle)
    }

    mutating func received(_ part: HTTPRequestPart, now: ContinuousClock.Instant) -> Action {
        switch part {
        case .head:
            phase = .readingRequest
            responsesOwed += 1
            return arm(now + timeouts.requestRead)
        case .body:
            return .none
        case .end:
            phase = .answering
            deadline = nil
            return responsesOwed > 0 ? .disarm : idleAgain(now)
        }
    }

    mutating func sent(_ part: HTTPResponsePart, now: ContinuousClock.Instant) -> Action {
        switch part {
        case .head(let head) where head.status.kind != .informational:
            responseStarted = true
            return .none
        case .head, .body:
            return .none
        case .end:
            responseStarted = false
            responsesOwed = max(0, responsesOwed - 1)
            // An early answer (401 before the body) leaves the request's read deadline in force.
            if phase == .answering && responsesOwed == 0 { return idleAgain(now) }
            return .none
        }
    }

    mutating func deadlinePassed(now: ContinuousClock.Instant) -> Action {
        guard let deadline else { return .none }
        guard now >= deadline else { return .arm(deadline) }
        switch phase {
        case .idle:
            return .close
        case .readingRequest:
            if responseStarted || responsesOwed == 0 { return .close }
            return .answerAndClose(
                .requestTimeout, "the request did not arrive in full within \(Self.seconds(timeouts.requestRead)) s")
        case .answering:
            return .none
        }
    }

    /// The HTTP parser refused the bytes. Between requests the guard answers (400, or 431 for headers too
    /// large) with the project's JSON error; while a response is owed it cannot, and the server closes.
    mutating func malformed(_ reason: String, headersTooLarge: Bool) -> Action {
        guard responsesOwed == 0 && !responseStarted else { return .propagate }
        if headersTooLarge { return .answerAndClose(.requestHeaderFieldsTooLarge, "the request headers are too large") }
        return .answerAndClose(.badRequest, "the request is not valid HTTP/1.1 (\(reason))")
    }

    private mutating func idleAgain(_ now: ContinuousClock.Instant) -> Action {
        phase = .idle
        return arm(now + timeouts.idle)
    }

    private mutating func arm(_ instant: ContinuousClock.Instant) -> Action {
        deadline = instant
        return .arm(instant)
    }

    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds)" : "\(Double(seconds) + Double(attoseconds) / 1e18)"
    }
}

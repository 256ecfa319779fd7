import HTTPTypes
import NIOHTTPTypes
import Testing

@testable import BullpenIngest

@Suite("Connection guard")
struct ConnectionGuardStateTests {
    let start = ContinuousClock.now
    var state = ConnectionGuardState(timeouts: ConnectionTimeouts(idle: .seconds(60), requestRead: .seconds(30)))
    let head = HTTPRequestPart.head(
        HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/webhooks/agents/task-result"))
    let response = HTTPResponsePart.head(HTTPResponse(status: .accepted))

    @Test("an idle connection, and one that never completes its request head, is closed at the idle deadline")
    mutating func idle() {
        #expect(state.opened(now: start) == .arm(start + .seconds(60)))
        #expect(state.deadlinePassed(now: start + .seconds(59)) == .arm(start + .seconds(60)))
        #expect(state.deadlinePassed(now: start + .seconds(60)) == .close)
    }

    @Test("a request whose body trickles past its read deadline gets 408 and the connection closes")
    mutating func slowBody() {
        _ = state.opened(now: start)
        #expect(state.received(head, now: start + .seconds(1)) == .arm(start + .seconds(31)))
        // Body bytes do not extend the deadline: a byte every few seconds cannot hold the connection.
        #expect(state.received(.body(.init()), now: start + .seconds(20)) == .none)
        guard case .answerAndClose(let status, let message) = state.deadlinePassed(now: start + .seconds(31)) else {
            Issue.record("no answer at the read deadline")
            return
        }
        #expect(status == .requestTimeout)
        #expect(message.contains("30 s"))
    }

    @Test("while the server answers there is no deadline; after the answer the idle deadline starts again")
    mutating func answering() {
        _ = state.opened(now: start)
        _ = state.received(head, now: start)
        #expect(state.received(.end(nil), now: start + .seconds(1)) == .disarm)
        #expect(state.deadlinePassed(now: start + .seconds(500)) == .none)
        #expect(state.sent(response, now: start + .seconds(600)) == .none)
        #expect(state.sent(.end(nil), now: start + .seconds(600)) == .arm(start + .seconds(660)))
    }

    @Test("after an early answer (before the body is in) the request's read deadline stays; no second answer")
    mutating func earlyAnswer() {
        _ = state.opened(now: start)
        _ = state.received(head, now: start)
        _ = state.sent(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)), now: start)
        #expect(state.sent(.end(nil), now: start) == .none)
        #expect(state.deadlinePassed(now: start + .seconds(30)) == .close)
    }

    @Test("malformed bytes between requests are answered as JSON (431 for headers too large); mid-answer they are not")
    mutating func malformed() {
        _ = state.opened(now: start)
        #expect(
            state.malformed("invalidHeaderToken", headersTooLarge: false)
                == .answerAndClose(.badRequest, "the request is not valid HTTP/1.1 (invalidHeaderToken)"))
        #expect(
            state.malformed("headerOverflow", headersTooLarge: true)
                == .answerAndClose(.requestHeaderFieldsTooLarge, "the request headers are too large"))
        _ = state.received(head, now: start)
        #expect(state.malformed("invalidChunkSize", headersTooLarge: false) == .propagate)
    }
}

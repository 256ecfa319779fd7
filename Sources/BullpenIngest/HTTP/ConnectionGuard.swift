import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// A channel handler on every ingest connection (after HTTP decoding) that enforces
/// ``ConnectionTimeouts`` and answers requests the HTTP parser refuses (malformed or oversized headers) with
/// the project's JSON error instead of an empty 400. The rules are ``ConnectionGuardState``'s.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var state: ConnectionGuardState
    private var timer: Scheduled<Void>?
    private var timerFiresAt: ContinuousClock.Instant?
    private var closing = false

    init(timeouts: ConnectionTimeouts) {
        state = ConnectionGuardState(timeouts: timeouts)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { perform(state.opened(now: .now), context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(state.opened(now: .now), context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(state.received(unwrapInboundIn(data), now: .now), context: context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        perform(state.sent(unwrapOutboundIn(data), now: .now), context: context)
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge = parserError == .headerOverflow
        switch state.malformed("\(parserError)", headersTooLarge: tooLarge) {
        case .propagate:
            context.fireErrorCaught(error)
        case let action:
            perform(action, context: context)
        }
    }

    private func perform(_ action: ConnectionGuardState.Action, context: ChannelHandlerContext) {
        switch action {
        case .none, .propagate:
            break
        case .arm(let deadline):
            // A timer that fires no later than the new deadline stays: when it fires, the state tells the time
            // left and it is set again. So a busy keep-alive connection reschedules once per request, not at
            // every part.
            if timer != nil, let firesAt = timerFiresAt, firesAt <= deadline { return }
            timer?.cancel()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timerFiresAt = deadline
            timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(nanoseconds(deadline - .now)))) {
                let (handler, context) = loopBound.value
                handler.timer = nil
                handler.timerFiresAt = nil
                handler.perform(handler.state.deadlinePassed(now: .now), context: context)
            }
        case .disarm:
            // Left to fire: while the server answers, the state says there is nothing to do.
            break
        case .close:
            close(context)
        case .answerAndClose(let status, let message):
            guard !closing else { return }
            let body = APIError(status, message, code: status == .badRequest ? "malformed_request" : nil).body
            var head = HTTPResponse(status: status)
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = "\(body.count)"
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            close(context)
        }
    }

    private func close(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        timer?.cancel()
        timer = nil
        context.close(promise: nil)
    }

    private func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

import ChainModel
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Sent inbound by `ConnectionGuardHandler` when bytes arrive, before they reach the HTTP decoder:
/// for `ConnectionTimeoutHandler`, the first byte of a request.
struct BytesArrivedEvent: Sendable {}

/// A request not read whole in time; its handler's body read fails with it (so a body cut short
/// is never taken for a whole one) and the API answers 408 when it still can.
struct RequestReadTimeout: Error, Sendable {}

/// First in an API connection's pipeline, before the HTTP decoder: closes a connection refused by
/// the cap as soon as it is active, and tells `ConnectionTimeoutHandler` when bytes arrive.
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let admitted: Bool

    init(admitted: Bool) {
        self.admitted = admitted
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if !admitted, context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        guard admitted else {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard admitted else { return }
        context.fireUserInboundEventTriggered(BytesArrivedEvent())
        context.fireChannelRead(data)
    }
}

/// Closes an API connection when its `ConnectionClock` deadline passes (see there): after the HTTP
/// codec, it sees request and response parts, and the `BytesArrivedEvent` of the guard before the
/// decoder. A request whose header block is late gets a 408 before the close; one whose body is
/// late has its body read fail with `RequestReadTimeout`. A request that is not HTTP gets a 400 in
/// the API's JSON error form, instead of the server's empty one.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var clock: ConnectionClock
    private let connections: ConnectionGuard
    private var timer: Scheduled<Void>?
    private var timerAtNs = UInt64.max

    init(connections: ConnectionGuard) {
        self.connections = connections
        clock = ConnectionClock(limits: connections.limits, nowNs: Self.nowNs())
    }

    static func nowNs() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    func handlerAdded(context: ChannelHandlerContext) {
        clock = ConnectionClock(limits: connections.limits, nowNs: Self.nowNs())
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is BytesArrivedEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        clock.bytesRead(nowNs: Self.nowNs())
        arm(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.headRead(nowNs: Self.nowNs())
        case .body: break
        case .end: clock.endRead(nowNs: Self.nowNs())
        }
        arm(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .end:
            clock.answerWritten(nowNs: Self.nowNs())
            arm(context)
        case .body:
            clock.answerProgressed(nowNs: Self.nowNs())
        case .head:
            break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Nobody else is answering on this connection: answer in the API's form and close.
        if error is HTTPParserError, clock.answersOwed == 0 {
            answerAndClose(context, APIError.badRequest("malformed_http", "the request is not valid HTTP/1.1"))
            return
        }
        context.fireErrorCaught(error)
    }

    // MARK: The timer

    /// Makes the timer fire at the clock's deadline (it only ever moves the timer earlier; a timer
    /// that fires early finds the deadline later and sets itself again).
    private func arm(_ context: ChannelHandlerContext) {
        let at = clock.deadline.atNs
        guard timer == nil || at < timerAtNs else { return }
        timer?.cancel()
        timerAtNs = at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(at)) { [self] in
            timer = nil
            timerAtNs = .max
            fired(context)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
        timerAtNs = .max
    }

    private func fired(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        guard let expiry = clock.expired(nowNs: Self.nowNs()) else {
            arm(context)
            return
        }
        connections.timedOut(expiry)
        switch expiry {
        case .header where clock.answersOwed == 0:
            answerAndClose(context, APIError(.requestTimeout, "request_timeout",
                                             "the request's header was not complete within \(clock.limits.headerReadTimeoutMs) ms"))
        case .body:
            context.fireErrorCaught(RequestReadTimeout())
            context.close(promise: nil)
        case .header, .idle, .response:
            context.close(promise: nil)
        }
    }

    private func answerAndClose(_ context: ChannelHandlerContext, _ error: APIError) {
        var bytes = JSONWriter.write(error.body)
        bytes.append(0x0A)
        let head = HTTPResponse(status: error.status, headerFields: [.contentType: "application/json",
                                                                    .contentLength: "\(bytes.count)",
                                                                    .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: bytes))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}

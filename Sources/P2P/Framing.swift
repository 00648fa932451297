import NIOConcurrencyHelpers
import NIOCore
import P2PWire

/// The frame limit of one connection: small until the handshake has authenticated the peer, so an
/// unauthenticated client cannot make us buffer large frames; raised to the configured maximum after.
final class FrameLimit: Sendable {
    private let bytes: NIOLockedValueBox<Int>
    init(_ bytes: Int) { self.bytes = NIOLockedValueBox(bytes) }
    var value: Int { bytes.withLockedValue { $0 } }
    func set(_ value: Int) { bytes.withLockedValue { $0 = value } }

    /// The limit while the handshake runs: the larger of its two frames.
    static let handshakeBytes = max(P2PLimits.helloMaxBytes, P2PLimits.authFrameBytes)
}

/// When bytes last arrived on a connection, whole frame or not: a large frame on a slow link takes
/// longer than the silence limit to arrive, and its peer is not silent while it does.
final class ArrivalClock: Sendable {
    private let last = NIOLockedValueBox(ContinuousClock.now)
    func record() { last.withLockedValue { $0 = .now } }
    /// How long since bytes last arrived (or since the connection was set up).
    var silence: Duration { ContinuousClock.now - last.withLockedValue { $0 } }
}

/// Splits the byte stream into frames, `u32 length || body`, refusing a length above the limit
/// before buffering it: the error closes this connection only.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: FrameLimit
    let arrival: ArrivalClock

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        arrival.record()
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let maxFrameBytes = limit.value
        guard Int(length) <= maxFrameBytes else {
            throw P2PError(.frameTooLarge, "frame of \(length) bytes over the limit of \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

enum Framing {
    /// A plaintext frame (handshake Hello).
    static func plain(_ body: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 4 + body.count)
        buf.writeInteger(UInt32(body.count))
        buf.writeBytes(body)
        return buf
    }

    /// An encrypted frame: `u32 length || ciphertext || tag`.
    static func sealed(_ plaintext: [UInt8], cipher: inout FrameCipher, allocator: ByteBufferAllocator) throws(P2PError) -> ByteBuffer {
        let sealed = try cipher.seal(plaintext)
        var buf = allocator.buffer(capacity: 4 + sealed.count)
        buf.writeInteger(UInt32(sealed.count))
        buf.writeBytes(sealed)
        return buf
    }

    /// Configures a new TCP channel: frame decoder, then the async bridge with a small inbound
    /// buffer (at most `inboundFramesBufferedMaxCount` frames wait for the reader; beyond that NIO
    /// stops reading and TCP flow control holds the sender back).
    static func setUp(_ channel: Channel, limit: FrameLimit) throws -> Connection {
        let arrival = ArrivalClock()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit, arrival: arrival)))
        let async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: .init(lowWatermark: P2PLimits.inboundFramesBufferedResumeCount,
                                                             highWatermark: P2PLimits.inboundFramesBufferedMaxCount)))
        return Connection(channel: async, limit: limit, arrival: arrival)
    }

    /// A new connection in the handshake's frame limit.
    static func setUp(_ channel: Channel) throws -> Connection {
        try setUp(channel, limit: FrameLimit(FrameLimit.handshakeBytes))
    }

    /// A TCP connection with its frame limit and the time bytes last arrived on it.
    struct Connection: Sendable {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        let limit: FrameLimit
        let arrival: ArrivalClock
    }
}

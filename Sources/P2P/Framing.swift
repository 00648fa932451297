import NIOCore

/// Splits the byte stream into frames, `u32 length || body`, refusing a length above the maximum
/// before buffering it: the error closes this connection only.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
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
    /// buffer (at most `highWatermark` frames wait for the reader; beyond that NIO stops reading
    /// and TCP flow control holds the sender back).
    static func setUp(_ channel: Channel, maxFrameBytes: Int) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel,
            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 4)))
    }
}

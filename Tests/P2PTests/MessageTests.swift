import ChainModel
import P2PWire
import Testing
import TotemCrypto

@Suite struct MessageTests {
    @Test(arguments: [
        Message.status(height: 42, role: .observer),
        .txBatch([[1, 2, 3], []]),
        .consensus(Array(repeating: 9, count: 1000)),
        .blockRequest(fromHeight: 7, count: 64),
        .blockResponse(fromHeight: 7, blocks: [[1], [2, 3]]),
        .blockResponse(fromHeight: 7, blocks: []),
        .ping(1), .pong(.max), .disconnect(.duplicate),
        .checkpointVote([1, 2, 3]), .snapshotQuery(height: 0), .snapshotQuery(height: 40), .snapshotOffer([]), .snapshotOffer([7, 7]),
        .chunkRequest(height: 20, index: 3), .chunkResponse(height: 20, index: 3, payload: [1, 2]),
    ])
    func roundTrips(_ m: Message) throws {
        #expect(try Message.decode(m.encoded) == m)
    }

    @Test func statusLayoutIsFixed() {
        #expect(Message.status(height: 1, role: .validator).encoded == [1, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    }

    @Test(arguments: [
        ([UInt8]([99]), DecodeError.Reason.enum),                    // unknown tag
        ([6, 0, 0, 0, 0, 0, 0, 0, 1, 0], .trailing),                 // ping + extra byte
        ([2, 0, 0, 0, 0], .limit),                                    // empty tx batch
        ([2, 0, 0, 0x03, 0xe9], .limit),                              // 1001 txs
        ([4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], .limit),           // block request of 0
        ([4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 65], .limit),          // block request of 65
        ([1, 0, 0, 0, 0, 0, 0, 0, 1, 3], .enum),                     // unknown role
        ([8, 0], .enum),                                              // unknown disconnect reason
        ([3, 0, 0x10, 0, 0], .truncated),                             // consensus length beyond input
        ([9, 0, 0, 0x02, 0x01], .limit),                              // checkpoint vote of 513 bytes
        ([10, 0, 0, 0, 0, 0, 0, 0, 1, 0], .trailing),               // snapshot query + extra byte
        ([11, 0, 0x80, 0, 1], .limit),                                // snapshot offer over 8 MiB
        ([12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], .truncated),            // chunk request without its index
        ([13, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x90, 0, 1], .limit), // chunk response over 9 MiB
    ])
    func refusesMalformed(_ bytes: [UInt8], reason: DecodeError.Reason) {
        #expect { _ = try Message.decode(bytes) } throws: { ($0 as? DecodeError)?.reason == reason }
    }

    @Test func refusesOversizedTxInBatch() {
        var w = TCEWriter()
        w.u8(Message.Tag.txBatch.rawValue)
        w.u32(1)
        w.u32(UInt32(Limits.signedTxMaxBytes + 1))
        #expect { _ = try Message.decode(w.bytes) } throws: { ($0 as? DecodeError)?.reason == .limit }
    }
}

import ChainModel
import Testing
import TotemCrypto
@testable import P2P

@Suite struct QueueAndLimiterTests {
    @Test func tokenBucketPacesWithInjectedTime() {
        var b = TokenBucket(ratePerSecond: 100, burst: 10, nowNs: 0)
        for _ in 0..<10 { #expect(b.take(1, nowNs: 0) == 0) }
        #expect(b.take(1, nowNs: 0) == 10_000_000)             // one token = 10 ms
        #expect(b.take(1, nowNs: 10_000_000) == 10_000_000)    // the debt is carried
        #expect(b.take(1, nowNs: 1_000_000_000) == 0)          // refilled, capped at the burst
        var big = TokenBucket(ratePerSecond: 1_000, burst: 1_000, nowNs: 0)
        #expect(big.take(3_000, nowNs: 0) == 2_000_000_000)     // larger than the burst: served late
    }

    @Test func boundedHashSetForgetsOldest() {
        var s = BoundedHashSet(capacity: 3)
        let h = (0..<5).map { Bytes32(w0: UInt64($0), w1: 0, w2: 0, w3: 0) }
        for x in h {
            let inserted = s.insert(x)
            #expect(inserted)
        }
        let again = s.insert(h[4])
        #expect(!again)
        #expect(s.count == 3 && !s.contains(h[0]) && !s.contains(h[1]) && s.contains(h[2]) && s.contains(h[4]))
    }

    func link(_ limits: OutboundQueueLimits) -> PeerLink {
        PeerLink(key: T.key(1).publicKey, id: ConnectionID(1), direction: .outbound, remote: "test",
                 height: 0, role: .validator, limits: limits)
    }

    @Test func txLaneDropsNewestWhenFullAndSendsEachTxOnce() async {
        let l = link(OutboundQueueLimits(txMaxCount: 3, txMaxBytes: 1 << 20, messageMaxCount: 4, messageMaxBytes: 1 << 20))
        let txs = T.txs(5).map { GossipTx(bytes: $0.bytes, hash: $0.hash) }
        #expect(l.enqueueTxs(txs) == 2)
        #expect(l.enqueueTxs(txs) == 0)  // all known now: nothing queued, nothing dropped
        guard case .messages(let ms) = await l.next(), case .txBatch(let batch) = ms.first else {
            Issue.record("expected one tx batch")
            return
        }
        #expect(ms.count == 1 && batch == txs.prefix(3).map(\.bytes))
        #expect(l.info.txsDropped == 2)
    }

    @Test func messageLaneGoesFirstAndOverflowClosesThePeer() async {
        let l = link(OutboundQueueLimits(txMaxCount: 10, txMaxBytes: 1 << 20, messageMaxCount: 2, messageMaxBytes: 1 << 20))
        l.enqueueTxs(T.txs(1).map { GossipTx(bytes: $0.bytes, hash: $0.hash) })
        #expect(l.enqueue(.ping(1), byteCount: 9) == .queued)
        #expect(l.enqueue(.ping(2), byteCount: 9) == .queued)
        #expect(l.enqueue(.ping(3), byteCount: 9) == .overflowed)
        #expect(l.enqueue(.ping(4), byteCount: 9) == .closing)
        #expect(l.isClosing)
        guard case .messages(let ms) = await l.next() else { Issue.record("expected messages"); return }
        #expect(ms.count == 3 && ms[0] == .ping(1) && ms[1] == .ping(2))
        guard case .close(let reason) = await l.next() else { Issue.record("expected close"); return }
        #expect(reason == .tooSlow)
    }

    @Test func writerWaitsForWorkAndWakesOnClose() async {
        let l = link(OutboundQueueLimits())
        async let work = l.next()
        l.close(.shutdown)
        guard case .close(let reason) = await work else { Issue.record("expected close"); return }
        #expect(reason == .shutdown)
    }
}

import Testing
import TotemCrypto
@testable import totemd

/// Catch-up planning as values: found by fault testing, a node behind asked for 32 blocks only when
/// a peer's status arrived (at most once a second), so under load it never caught up.
@Suite("Block sync")
struct BlockSyncTests {
    typealias Sync = BlockSync<UInt64>
    let p1 = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let p2 = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)
    let p3 = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)

    func blocks(_ range: ClosedRange<UInt64>) -> [(height: UInt64, item: UInt64, bytes: Int)] {
        range.map { ($0, $0, 100) }
    }

    @Test func aNodeFarBehindAsksSeveralPeersForConsecutiveRangesAtOnce() {
        var s = Sync(applied: 10, nowMs: 0)
        _ = s.peerStatus(p1, height: 5_000, nowMs: 0)
        _ = s.peerStatus(p2, height: 5_000, nowMs: 0)
        let r = s.peerStatus(p3, height: 5_000, nowMs: 0)
        let all = s.inflight
        #expect(all.count == s.limits.inflightRequestsMax)
        #expect(all.map(\.fromHeight) == [11, 75, 139, 203])
        #expect(all.allSatisfy { $0.count == 64 })
        // At most inflightPerPeerMax per peer: the first two peers hold them all.
        #expect(all.map(\.peer) == [p1, p1, p2, p2])
        #expect(r.isEmpty)
        // An answer frees a slot: the next range goes to the peer not asked yet.
        let next = s.received(blocks(11...74), from: p1, fromHeight: 11, nowMs: 1)
        #expect(next.map(\.fromHeight) == [267])
        #expect(next.map(\.peer) == [p3])
        #expect(s.takeReady(maxCount: 1_000).map(\.item) == Array(11...74))
        #expect(s.isCatchingUp && s.blocksBehind == 4_990)
    }

    @Test func theNextRangeIsAskedForAsSoonAsAnAnswerArrivesNotAtTheNextStatus() {
        var s = Sync(applied: 0, nowMs: 0)
        _ = s.peerStatus(p1, height: 1_000, nowMs: 0)
        _ = s.peerStatus(p2, height: 1_000, nowMs: 0)
        let first = s.inflight
        // Answers arrive out of order: the second range is held, nothing is ready until the first.
        let second = first[1]
        let a = s.received(blocks(second.fromHeight...second.lastHeight), from: second.peer, fromHeight: second.fromHeight, nowMs: 5)
        #expect(!s.hasReady)
        #expect(a.map(\.fromHeight) == [first.last!.lastHeight + 1])
        _ = s.received(blocks(first[0].fromHeight...first[0].lastHeight), from: first[0].peer, fromHeight: 1, nowMs: 6)
        // Handed over in height order, in runs of at most maxCount and at most maxWeight (past
        // the first: one heavier than the bound goes alone).
        #expect(s.takeReady(maxCount: 100, maxWeight: 25, weight: { _ in 10 }).map(\.item) == [1, 2])
        #expect(s.takeReady(maxCount: 100, maxWeight: 25, weight: { _ in 40 }).map(\.item) == [3])
        #expect(s.takeReady(maxCount: 100).map(\.item) == Array(4...103))
        #expect(s.takeReady(maxCount: 100).map(\.item) == Array(104...128))
        _ = s.applied(128, nowMs: 7)
        #expect(s.applied == 128 && !s.hasReady)
    }

    @Test func aShortAnswerIsCompletedAndALostOneAskedAgainOfAnotherPeer() {
        var s = Sync(applied: 0, nowMs: 0, limits: .init(inflightRequestsMax: 1))
        _ = s.peerStatus(p1, height: 100, nowMs: 0)
        _ = s.peerStatus(p2, height: 100, nowMs: 0)
        let r = s.inflight[0]
        #expect(r.fromHeight == 1 && r.count == 64)
        // The peer sent only 10 blocks (its response size limit): the rest is asked for next.
        let next = s.received(blocks(1...10), from: r.peer, fromHeight: 1, nowMs: 1)
        #expect(next.map(\.fromHeight) == [11])
        #expect(next[0].peer != r.peer)
        // That request is lost: after the timeout the same range goes to the other peer.
        let retry = s.tick(nowMs: 1 + s.limits.requestTimeoutMs)
        #expect(retry.map(\.fromHeight) == [11])
        #expect(retry[0].peer == r.peer)
    }

    @Test func refusedBlocksAreDroppedAndAskedOfAnotherPeer() {
        var s = Sync(applied: 0, nowMs: 0, limits: .init(inflightRequestsMax: 1))
        _ = s.peerStatus(p1, height: 50, nowMs: 0)
        _ = s.peerStatus(p2, height: 50, nowMs: 0)
        let asked = s.inflight[0].peer
        _ = s.received(blocks(1...50), from: asked, fromHeight: 1, nowMs: 1)
        let run = s.takeReady(maxCount: 64)
        #expect(run.count == 50)
        // Blocks 1-9 applied, block 10 refused (its certificate did not verify).
        _ = s.applied(9, nowMs: 2)
        let again = s.refused(height: 10, from: asked, nowMs: 3)
        #expect(again.map(\.fromHeight) == [10])
        #expect(again.map(\.peer) != [asked])
        #expect(s.fedThrough == 9 && s.bufferedCount == 0)
    }

    @Test func blocksHandedOverButNeverAppliedAreAskedAgainAfterAStall() {
        var s = Sync(applied: 0, nowMs: 0, limits: .init(inflightRequestsMax: 1))
        _ = s.peerStatus(p1, height: 50, nowMs: 0)
        _ = s.received(blocks(1...50), from: p1, fromHeight: 1, nowMs: 1)
        #expect(s.takeReady(maxCount: 20).count == 20)
        #expect(s.tick(nowMs: 2).isEmpty)
        let again = s.tick(nowMs: 1 + s.limits.stallMs)
        #expect(again.map(\.fromHeight) == [1])
        #expect(s.fedThrough == 0 && s.bufferedCount == 0)
    }

    @Test func oneBlockBehindIsNormalForAWhile() {
        var s = Sync(applied: 10, nowMs: 0)
        #expect(s.peerStatus(p1, height: 11, nowMs: 0).isEmpty)
        #expect(!s.isCatchingUp)
        #expect(s.peerStatus(p1, height: 11, nowMs: 500).isEmpty)
        #expect(s.peerStatus(p1, height: 11, nowMs: 1_000).map(\.fromHeight) == [11])
    }

    /// Found by the end-to-end test: a node restarted hundreds of blocks behind said
    /// `catchingUp: false` until the first peer told it its height.
    @Test func aStartedNodeCountsAsCatchingUpUntilAPeerSaysWhereTheTipIs() {
        var s = Sync(applied: 10, nowMs: 0)
        #expect(s.isCatchingUp)
        _ = s.tick(nowMs: s.limits.startGraceMs - 1)
        #expect(s.isCatchingUp)
        _ = s.peerStatus(p1, height: 10, nowMs: 100)
        #expect(!s.isCatchingUp)
        // A lone node (no peer ever answers) stops counting itself behind after the grace.
        var lone = Sync(applied: 10, nowMs: 0)
        _ = lone.tick(nowMs: lone.limits.startGraceMs)
        #expect(!lone.isCatchingUp)
    }

    @Test func theBufferIsBoundedInBytesAndTheWindow() {
        var s = Sync(applied: 0, nowMs: 0, limits: .init(bufferMaxBytes: 1_000))
        _ = s.peerStatus(p1, height: 100_000, nowMs: 0)
        #expect(s.inflight.allSatisfy { $0.lastHeight <= s.limits.windowBlocks })
        let r = s.inflight[1]
        _ = s.received(blocks(r.fromHeight...r.lastHeight), from: r.peer, fromHeight: r.fromHeight, nowMs: 1)
        #expect(s.bufferedCount == 10 && s.bufferBytes == 1_000)
        // Heights already applied, or beyond the window, are not kept.
        _ = s.received(blocks(600...610), from: p1, fromHeight: 600, nowMs: 2)
        #expect(s.bufferedCount == 10)
    }

    @Test func progressIsReportedWithRateAndEtaUntilTheTip() {
        var p = CatchUpProgress()
        let start = p.update(applied: 0, target: 5_000, txsApplied: 0, nowMs: 0)
        #expect(start?.message == "catching up")
        #expect(p.update(applied: 100, target: 5_000, txsApplied: 300, nowMs: 1_000) == nil)
        let line = p.update(applied: 1_000, target: 5_000, txsApplied: 3_000, nowMs: 5_000)
        #expect(line?.metadata["blocksPerSecond"] == "200.0")
        #expect(line?.metadata["txsPerSecond"] == "600.0")
        #expect(line?.metadata["eta"] == "20.0 s")
        let done = p.update(applied: 5_000, target: 5_001, txsApplied: 15_000, nowMs: 25_000)
        #expect(done?.message == "caught up" && done?.metadata["blocks"] == "5000")
        #expect(p.update(applied: 5_001, target: 5_001, txsApplied: 15_000, nowMs: 26_000) == nil)
    }
}

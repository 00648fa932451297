import Testing
import TotemCrypto
@testable import Consensus

/// Limits and small rules, each of which could be broken on its own.
@Suite struct BoundsTests {
    @Test func timeoutsDoubleAndCap() {
        let c = ReplicaConfig(proposalTimeoutMs: 1000, maxProposalTimeoutMs: 30_000, emptyBlockIntervalMs: 30_000)
        #expect((0...6).map { c.viewTimeoutMs($0) } == [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
        #expect(c.viewTimeoutMs(UInt32.max) == 30_000)
    }

    @Test func leaderRotatesByHeightAndView() throws {
        let keys = TestKeys(count: 4)
        guard let set = keys.set(["r0", "r1", "r2", "r3"]) else { throw TranscriptError("set") }
        #expect(set.leader(height: 1, view: 0) == set.keys[1])
        #expect(set.leader(height: 1, view: 3) == set.keys[0])
        #expect(set.leader(height: UInt64.max, view: UInt32.max) == set.keys[Int((UInt64.max % 4 + UInt64(UInt32.max) % 4) % 4)])
    }

    @Test func evidenceLogIsBoundedAndDeduplicated() {
        var log = EvidenceLog()
        for i in 0..<(ConsensusLimits.evidenceMax + 10) {
            let a = Vote(phase: .prepare, height: UInt64(i), view: 0, blockHash: SHA256.hash([1]), validator: .zero, signature: .zero)
            var b = a
            b.blockHash = SHA256.hash([2])
            guard let e = Evidence(a, b) else { continue }
            let first = log.record(e)
            let again = log.record(e)
            #expect(first && !again)
        }
        #expect(log.items.count == ConsensusLimits.evidenceMax)
    }

    /// Messages for the next height are buffered up to the per-peer limit, and replayed on arrival.
    @Test func futureMessagesAreBoundedPerPeer() throws {
        var h = TranscriptHarness()
        _ = try h.run("setup n=4 me=r2")
        let b2 = try h.block("B2")
        for v in 0..<(ConsensusLimits.futureMessagesPerPeerMax + 8) {
            _ = try h.deliver(.vote(try h.vote(.prepare, by: "r0", h: 2, v: UInt32(v % 4), b2.hash)), from: "r0")
        }
        #expect(h.replica?.future.count == ConsensusLimits.futureMessagesPerPeerMax)
        _ = try h.deliver(.vote(try h.vote(.prepare, by: "r1", h: 2, v: 0, b2.hash)), from: "r1")
        #expect(h.replica?.future.count == ConsensusLimits.futureMessagesPerPeerMax + 1)
    }

    /// Blocks remembered per height stay bounded however many views propose new ones.
    @Test func blocksPerHeightAreBounded() {
        var round = Round<TestBlock>(validatorCount: 4)
        for i in 0..<(ConsensusLimits.blocksPerHeightMax * 3) {
            round.remember(TestBlock(height: 1, parentHash: .zero, label: UInt64(i)), keep: nil)
        }
        #expect(round.blocks.count == ConsensusLimits.blocksPerHeightMax)
        #expect(round.blockOrder.count == ConsensusLimits.blocksPerHeightMax)
    }

    /// A view change for an absurd view from one validator moves nobody (f+1 are needed).
    @Test func oneHugeViewChangeMovesNobody() throws {
        var h = TranscriptHarness()
        _ = try h.run("setup n=4 me=r2")
        _ = try h.run("start")
        let out = try h.deliver(.viewChange(try h.viewChange(by: "r3", h: 1, v: UInt32.max, lock: nil), lockedBlock: nil), from: "r3")
        #expect(out.isEmpty)
        #expect(h.replica?.view == 0)
    }
}

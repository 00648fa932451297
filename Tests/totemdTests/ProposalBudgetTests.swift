import ChainModel
import Testing
import TotemCrypto
@testable import totemd

/// The proposal budget as values: an overrun shrinks it in proportion and asks for a rebuild, never goes below one largest tx, and grows back.
@Suite struct ProposalBudgetTests {
    static func fresh() -> ProposalBudget { ProposalBudget(maxBytes: 8 << 20, floorBytes: 65_536, targetMs: 500) }

    @Test func quickBuildsKeepTheWholeBlock() {
        var b = Self.fresh()
        let kept = !b.observe(blockBytes: 8 << 20, txCount: 900, elapsedMs: 120)
        #expect(kept)
        #expect(b.bytes == 8 << 20)
    }

    @Test func anOverrunShrinksTheBudgetAndASlowBuildIsRebuilt() {
        var b = Self.fresh()
        // 700 ms for 8 MiB: over the 500 ms target: rebuilt within a smaller budget.
        let rebuilt = b.observe(blockBytes: 8 << 20, txCount: 900, elapsedMs: 700)
        #expect(rebuilt)
        let afterOverrun = b.bytes
        #expect(afterOverrun < 8 << 20 && afterOverrun >= Int(Double(8 << 20) * 500 / 700 * 0.8) - 1)
        // 4 s for what the budget allowed: rebuilt, within a budget that would take about 400 ms.
        let rebuild = b.observe(blockBytes: afterOverrun, txCount: 600, elapsedMs: 4_000)
        #expect(rebuild)
        #expect(b.bytes < afterOverrun / 8 + 1)
    }

    @Test func theBudgetNeverGoesBelowOneLargestTxAndASingleTxIsNeverRebuilt() {
        var b = Self.fresh()
        for _ in 0..<10 { _ = b.observe(blockBytes: 100_000, txCount: 2, elapsedMs: 60_000) }
        #expect(b.bytes == 65_536)
        let rebuild = b.observe(blockBytes: 65_536, txCount: 1, elapsedMs: 60_000)
        #expect(!rebuild, "nothing smaller to build")
    }

    @Test func quickFullBuildsGrowItBackButSmallBlocksTeachNothing() {
        var b = Self.fresh()
        _ = b.observe(blockBytes: 8 << 20, txCount: 900, elapsedMs: 5_000)
        let small = b.bytes
        let rebuild = b.observe(blockBytes: 1_000, txCount: 3, elapsedMs: 10)
        #expect(!rebuild)
        #expect(b.bytes == small, "a small block says nothing about a full one")
        var grown = small
        for _ in 0..<20 { _ = b.observe(blockBytes: b.bytes, txCount: 100, elapsedMs: 100); grown = b.bytes }
        #expect(grown == 8 << 20)
    }

    @Test func applyingAnotherLeadersSlowBlockShrinksItButAQuickOneNeverGrowsIt() {
        var b = Self.fresh()
        b.observeApplied(blockBytes: 8 << 20, txCount: 900, elapsedMs: 100)
        #expect(b.bytes == 8 << 20)
        b.observeApplied(blockBytes: 8 << 20, txCount: 900, elapsedMs: 2_000)
        let shrunk = b.bytes
        #expect(shrunk < 8 << 20 / 4 + 1 && shrunk >= 65_536)
        b.observeApplied(blockBytes: shrunk, txCount: 100, elapsedMs: 10)
        #expect(b.bytes == shrunk, "only a build grows the budget back")
    }

    // MARK: The works cap

    static let key = SigningKey(seed: SHA256.hash(Array("proposal budget".utf8)))

    /// A tx of `works` works (RegisterWorkBatch, or RegisterWork for 1), or a transfer for 0.
    static func tx(works: Int, nonce: UInt64) -> SignedTx {
        let items = (0..<works).map { i in
            Work(contentHash: SHA256.hash(Array("work \(nonce) \(i)".utf8)), imageCode: nil, title: "t", mediaType: "image/png",
                 width: 1, height: 1, license: "All rights reserved")
        }
        let payload: Payload = switch works {
        case 0: .transferWork(TransferWork(contentHash: SHA256.hash([1]), newOwner: key.publicKey))
        case 1: .registerWork(items[0])
        default: .registerWorkBatch(items)
        }
        return Tx(chainId: "totem-test", sender: key.publicKey, nonce: nonce, payload: payload).signed(by: key, genesisHash: .zero)
    }

    @Test func aTransactionCountsItsWorksAndAnyOtherCountsOne() {
        #expect(ProposalBudget.workCount(Self.tx(works: 100, nonce: 1)) == 100)
        #expect(ProposalBudget.workCount(Self.tx(works: 1, nonce: 1)) == 1)
        #expect(ProposalBudget.workCount(Self.tx(works: 0, nonce: 1)) == 1)
    }

    @Test func theSelectionIsCutAtTheLastTransactionWithinTheCap() {
        let txs = [100, 100, 1, 0, 100, 50].enumerated().map { Self.tx(works: $0.element, nonce: UInt64($0.offset + 1)) }
        let nonces = { (cut: [SignedTx]) in cut.map(\.tx.nonce) }
        #expect(nonces(ProposalBudget.prefix(txs, maxWorks: 202)) == [1, 2, 3, 4], "100 + 100 + 1 + 1; the next would be 302")
        #expect(nonces(ProposalBudget.prefix(txs, maxWorks: 201)) == [1, 2, 3])
        #expect(nonces(ProposalBudget.prefix(txs, maxWorks: 352)) == [1, 2, 3, 4, 5, 6], "exactly at the cap")
        #expect(nonces(ProposalBudget.prefix(txs, maxWorks: 10_000)) == [1, 2, 3, 4, 5, 6])
        #expect(ProposalBudget.prefix([], maxWorks: 10).isEmpty)
    }

    @Test func aFirstTransactionAboveTheCapIsProposedAlone() {
        let txs = [Self.tx(works: 300, nonce: 1), Self.tx(works: 1, nonce: 2)]
        #expect(ProposalBudget.prefix(txs, maxWorks: 100).map(\.tx.nonce) == [1])
    }
}

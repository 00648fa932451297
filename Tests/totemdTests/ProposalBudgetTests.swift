import Testing
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
}

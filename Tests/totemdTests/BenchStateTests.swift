import Testing
import TotemCrypto
@testable import totemd

/// The bench through a node restart (issue 11, defect 9): it gave up an identity after 2.5 s of
/// refused connections (50 failed POSTs counted as 50 attempts of each tx). A POST the node did not
/// answer is not the txs' fault; txs a restarted node forgot are sent again.
@Suite struct BenchStateTests {
    func state(txs: Int) -> (BenchState, [PresignedTx]) {
        let plan = BenchPlan(identityCount: 1, groupCount: 1, rate: 0, duration: 60, batch: txs, presignCap: txs,
                             imageCode: false, drain: 30)
        let presigned = (0..<txs).map { i in
            let bytes = Array("tx \(i)".utf8)
            return PresignedTx(bytes: bytes, hash: SHA256.hash(bytes))
        }
        return (BenchState(plan: plan, presigned: [presigned]), presigned)
    }

    func take(_ s: inout BenchState, at ns: UInt64) -> [BenchState.Outgoing] {
        if case .send(let items) = s.take(group: 0, nowNs: ns) { return items }
        return []
    }

    @Test func postsANodeDidNotAnswerNeverUseUpAnIdentity() {
        var (s, presigned) = state(txs: 3)
        var now: UInt64 = 1_000_000
        var items = take(&s, at: now)
        #expect(items.count == 3)
        // Far more failed POSTs than maxRetriesPerTx: a node down for a long while.
        for _ in 0..<(3 * BenchLimits.retriesPerTxMax) {
            s.sending(items, nowNs: now)
            s.answered(group: 0, items, results: nil, nowNs: now)
            now += 100_000_000
            items = take(&s, at: now)
            #expect(items.count == 3, "the txs are retried, not given up")
        }
        #expect(s.counters.deadIdentities == 0 && s.counters.failed == 0)
        // The node is back: it accepts them, and a block brings them.
        s.sending(items, nowNs: now)
        s.answered(group: 0, items, results: presigned.map {
            APIClient.SubmitResult(txHash: $0.hash.hex, accepted: true, errorCode: nil, errorMessage: nil)
        }, nowNs: now)
        s.committed(presigned.map(\.hash), nowNs: now + 1, proposedNs: nil)
        #expect(s.counters.committed == 3 && s.inFlight.isEmpty)
    }

    @Test func acceptedTxsNoBlockBringsAreSentAgain() {
        var (s, presigned) = state(txs: 2)
        let items = take(&s, at: 1_000)
        s.sending(items, nowNs: 1_000)
        s.answered(group: 0, items, results: presigned.map {
            APIClient.SubmitResult(txHash: $0.hash.hex, accepted: true, errorCode: nil, errorMessage: nil)
        }, nowNs: 2_000)
        // Accepted, then the node restarted and forgot them: nothing to resend before the delay...
        s.resubmitForgotten(nowNs: 1_000 + BenchLimits.resubmitAfterNs - 1)
        #expect(take(&s, at: 1_000 + BenchLimits.resubmitAfterNs - 1).filter(\.isRetry).isEmpty)
        // ...and both once it has passed.
        s.resubmitForgotten(nowNs: 1_000 + BenchLimits.resubmitAfterNs)
        let again = take(&s, at: 1_000 + BenchLimits.resubmitAfterNs).filter(\.isRetry)
        #expect(Set(again.compactMap { $0.tx?.hash }) == Set(presigned.map(\.hash)))
        #expect(s.counters.resubmitted == 2)
    }
}

import Testing
import TotemCrypto
@testable import totemd

/// The bench through a node restart (issue 11, defect 9): it gave up an identity after 2.5 s of
/// refused connections (50 failed POSTs counted as 50 attempts of each tx). A POST the node did not
/// answer is not the txs' fault; txs a restarted node forgot are sent again.
@Suite struct BenchStateTests {
    func state(txs: Int, drain: Double = 30) -> (BenchState, [PresignedTx]) {
        let plan = BenchPlan(identityCount: 1, groupCount: 1, rate: 0, duration: 60, batch: txs, presignCap: txs,
                             imageCode: false, drain: drain)
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

    /// The drain of a 1.8 M-work fill waited its whole 600 s with every tx committed: a tx queued
    /// again after the timed phase sat in a group whose submitters had stopped, and the drain waits
    /// for queued retries. Submitters now stay while anything is in flight, and a retry of a tx
    /// committed meanwhile is dropped, not sent.
    @Test func theDrainSendsResubmissionsAndEndsOnceAllAreCommitted() {
        var (s, presigned) = state(txs: 2, drain: 600)
        let items = take(&s, at: 1_000)
        s.sending(items, nowNs: 1_000)
        s.answered(group: 0, items, results: presigned.map {
            APIClient.SubmitResult(txHash: $0.hash.hex, accepted: true, errorCode: nil, errorMessage: nil)
        }, nowNs: 2_000)
        let endNs = UInt64(60 * 1e9)
        // After the timed phase, nothing queued: the submitter waits (txs are in flight), it does not stop.
        guard case .wait = s.take(group: 0, nowNs: endNs + 1) else {
            Issue.record("a submitter stopped in the drain with txs in flight")
            return
        }
        // Forgotten by the node: queued again, and the waiting submitter sends them.
        let later = endNs + BenchLimits.resubmitAfterNs
        s.resubmitForgotten(nowNs: later)
        let again = take(&s, at: later)
        #expect(Set(again.compactMap { $0.tx?.hash }) == Set(presigned.map(\.hash)))
        s.sending(again, nowNs: later)
        // Queued a third time, then a block brings the first: only the other is sent.
        s.resubmitForgotten(nowNs: later + BenchLimits.resubmitAfterNs)
        s.committed([presigned[0].hash], nowNs: later + BenchLimits.resubmitAfterNs + 1, proposedNs: nil)
        let third = take(&s, at: later + BenchLimits.resubmitAfterNs + 2)
        #expect(third.compactMap { $0.tx?.hash } == [presigned[1].hash], "a committed tx's retry is dropped")
        s.sending(third, nowNs: later + BenchLimits.resubmitAfterNs + 2)
        s.committed([presigned[1].hash], nowNs: later + BenchLimits.resubmitAfterNs + 3, proposedNs: nil)
        #expect(s.drained(nowNs: later + BenchLimits.resubmitAfterNs + 4), "all committed: the drain ends")
        guard case .done = s.take(group: 0, nowNs: later + BenchLimits.resubmitAfterNs + 4) else {
            Issue.record("the submitter did not stop once nothing was in flight")
            return
        }
    }

    func refused(_ items: [BenchState.Outgoing], _ code: String) -> [APIClient.SubmitResult] {
        items.map { APIClient.SubmitResult(txHash: $0.tx!.hash.hex, accepted: false, errorCode: code, errorMessage: nil) }
    }

    /// A fill met a full mempool for minutes: 50 quick retries gave a nonce up, and the identity's
    /// later txs then sat in every mempool behind the gap while the drain waited for them. A full
    /// or busy node's refusal is not counted as an attempt; a tx given up for good takes the
    /// identity's later txs out of flight.
    @Test func aFullMempoolNeverGivesATxUpAndAGivenUpNonceReleasesTheLaterOnes() {
        var (s, presigned) = state(txs: 3)
        var now: UInt64 = 1_000
        var items = take(&s, at: now)
        for _ in 0..<(3 * BenchLimits.retriesPerTxMax) {
            s.sending(items, nowNs: now)
            s.answered(group: 0, items, results: refused(items, "mempool_full"), nowNs: now)
            now += 250_000_000  // past the 200 ms pause, within the 60 s timed phase
            items = take(&s, at: now)
            #expect(items.count == 3, "retried, not given up")
        }
        #expect(s.counters.failed == 0 && s.counters.deadIdentities == 0)
        // The first (nonce 1) is refused for good; 2 and 3 were accepted: they can never commit.
        s.sending(items, nowNs: now)
        s.answered(group: 0, items, results: [refused([items[0]], "bad_signature")[0]] + presigned[1...].map {
            APIClient.SubmitResult(txHash: $0.hash.hex, accepted: true, errorCode: nil, errorMessage: nil)
        }, nowNs: now)
        #expect(s.inFlight.isEmpty, "the later nonces left the in-flight set with the one given up")
        #expect(s.counters.failed == 3 && s.counters.deadIdentities == 1)
        #expect(s.drained(nowNs: UInt64(61 * 1e9)), "the drain does not wait for them")
    }

    /// Backpressure: while refused txs wait for their retry, no new ones are sent (a fill into a
    /// full mempool resent each tx ten times, each resend a batch the node parsed to refuse again).
    @Test func refusedTxsWaitingForARetryHoldNewOnesBack() {
        let plan = BenchPlan(identityCount: 1, groupCount: 1, rate: 0, duration: 60, batch: 3, presignCap: 6,
                             imageCode: false, drain: 30)
        let presigned = (0..<6).map { i in
            let bytes = Array("tx \(i)".utf8)
            return PresignedTx(bytes: bytes, hash: SHA256.hash(bytes))
        }
        var s = BenchState(plan: plan, presigned: [presigned])
        let first = take(&s, at: 1_000)
        #expect(first.count == 3)
        s.sending(first, nowNs: 1_000)
        let accepted = first[1...].map { APIClient.SubmitResult(txHash: $0.tx!.hash.hex, accepted: true, errorCode: nil, errorMessage: nil) }
        s.answered(group: 0, first, results: refused([first[0]], "mempool_full") + accepted, nowNs: 2_000)
        // Before the retry is due: nothing new goes out.
        guard case .wait = s.take(group: 0, nowNs: 3_000) else {
            Issue.record("new txs were sent while a refused one waited for its retry")
            return
        }
        // Once it is due: the retry first, then new txs in the rest of the batch.
        let next = take(&s, at: 300_000_000)
        #expect(next.map(\.isRetry) == [true, false, false])
        #expect(next.first?.tx?.hash == first[0].tx?.hash)
    }
}

import Testing
import TotemCrypto
@testable import totemd

/// The state-sync client's planning (`ChunkFetchPlan`) and its readiness reason, as values.
@Suite struct ChunkFetchPlanTests {
    static let a = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    static let b = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)
    static let c = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)

    @Test func requestsSpreadOverThePeersWithinTheBounds() {
        var plan = ChunkFetchPlan(missing: Array(0..<20), limits: .init(inflightMax: 5, perPeerMax: 2, timeoutMs: 100))
        let none = plan.plan(nowMs: 0)
        #expect(none.isEmpty, "no source yet")
        plan.addSource(Self.a)
        plan.addSource(Self.b)
        let first = plan.plan(nowMs: 0)
        #expect(first.map(\.index) == [0, 1, 2, 3], "two per peer, lowest chunks first")
        #expect(Set(first.map(\.peer)) == [Self.a, Self.b])
        #expect(first.filter { $0.peer == Self.a }.count == 2)
        plan.addSource(Self.c)
        let fifth = plan.plan(nowMs: 1)
        #expect(fifth.map { [$0.peer == Self.c ? 1 : 0, Int($0.index)] } == [[1, 4]], "the global bound is 5")
        // An answer frees room; an answer nobody asked that peer for is ignored.
        let askedA = first.first { $0.peer == Self.a }!.index
        let strayAnswer = plan.answered(askedA, by: Self.b)
        let answer = plan.answered(askedA, by: Self.a)
        #expect(!strayAnswer && answer)
        let sixth = plan.plan(nowMs: 2)
        #expect(sixth.map(\.index) == [5])
        #expect(!plan.isComplete)
    }

    @Test func aBannedPeerIsNeverAskedAgainAndItsChunksGoElsewhere() {
        var plan = ChunkFetchPlan(missing: [0, 1, 2], limits: .init(inflightMax: 8, perPeerMax: 2, timeoutMs: 100))
        plan.addSource(Self.a)
        plan.addSource(Self.b)
        let sent = plan.plan(nowMs: 0)
        let fromA = sent.filter { $0.peer == Self.a }.map(\.index)
        #expect(!fromA.isEmpty)
        let answered = plan.answered(fromA[0], by: Self.a)
        #expect(answered)
        plan.retry(fromA[0])
        plan.ban(Self.a)
        plan.addSource(Self.a)  // it offers again after reconnecting: still banned
        #expect(!plan.sources.contains(Self.a))
        let again = plan.plan(nowMs: 1)
        #expect(again.allSatisfy { $0.peer == Self.b })
        #expect(Set(again.map(\.index)).isSubset(of: Set(fromA)), "what A had is asked of B")
    }

    @Test func anUnansweredRequestIsAskedAgainAfterItsTimeout() {
        var plan = ChunkFetchPlan(missing: [7], limits: .init(inflightMax: 8, perPeerMax: 2, timeoutMs: 100))
        plan.addSource(Self.a)
        plan.addSource(Self.b)
        let first = plan.plan(nowMs: 0)
        #expect(first.count == 1)
        let early = plan.plan(nowMs: 99)
        #expect(early.isEmpty)
        let again = plan.plan(nowMs: 100)
        #expect(again.map(\.index) == [7])
        #expect(again[0].peer != first[0].peer, "another peer first")
        let answered = plan.answered(7, by: again[0].peer)
        #expect(answered && plan.isComplete)
    }

    @Test func aPeerGoneHandsItsRequestsBack() {
        var plan = ChunkFetchPlan(missing: [0, 1], limits: .init(inflightMax: 8, perPeerMax: 2, timeoutMs: 100))
        plan.addSource(Self.a)
        let sent = plan.plan(nowMs: 0)
        #expect(sent.count == 2)
        plan.removeSource(Self.a)
        #expect(plan.waiting == [0, 1])
        plan.addSource(Self.b)
        let again = plan.plan(nowMs: 1)
        #expect(again.map(\.peer) == [Self.b, Self.b])
    }

    @Test func readinessSaysSyncingWithTheChunksDone() {
        var i = ReadinessTests.healthy
        i.stateSync = (done: 43, total: 100)
        i.catchingUp = true
        let reasons = Readiness.reasons(i)
        #expect(reasons.map(\.code) == ["syncing"], "syncing, not catching_up, while the snapshot comes in")
        #expect(reasons[0].message.contains("43 of 100 chunks (43 %)"))
        i.stateSync = (done: 0, total: 0)
        #expect(Readiness.reasons(i)[0].message.contains("looking for"))
    }
}

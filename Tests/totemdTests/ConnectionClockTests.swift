import Logging
import Testing
@testable import totemd

/// The API connection's deadlines as plain values: every state has one, and bytes trickling in
/// never push a read deadline back.
@Suite("API connection clock")
struct ConnectionClockTests {
    static let limits = ConnectionLimits(headerReadTimeoutMs: 10, bodyReadTimeoutMs: 20, idleTimeoutMs: 30,
                                         responseTimeoutMs: 40, maxConnections: 1)
    static func ms(_ v: UInt64) -> UInt64 { v * 1_000_000 }

    @Test func aNewConnectionIsIdleUntilItsIdleTimeout() {
        let c = ConnectionClock(limits: Self.limits, nowNs: Self.ms(100))
        #expect(c.deadline.atNs == Self.ms(130) && c.deadline.expiry == .idle)
        #expect(c.expired(nowNs: Self.ms(129)) == nil)
        #expect(c.expired(nowNs: Self.ms(130)) == .idle)
    }

    @Test func trickledHeaderBytesDoNotPushTheHeaderDeadlineBack() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: Self.ms(5))
        for t in stride(from: UInt64(6), through: 14, by: 1) { c.bytesRead(nowNs: Self.ms(t)) }
        #expect(c.deadline.atNs == Self.ms(15) && c.deadline.expiry == .header)
        #expect(c.expired(nowNs: Self.ms(15)) == .header)
    }

    @Test func theBodyDeadlineRunsFromTheEndOfTheHeaderWhateverArrives() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: Self.ms(1))
        c.headRead(nowNs: Self.ms(2))
        for t in stride(from: UInt64(3), through: 21, by: 1) { c.bytesRead(nowNs: Self.ms(t)) }
        #expect(c.deadline.atNs == Self.ms(22) && c.deadline.expiry == .body)
    }

    @Test func aReadRequestOwesAnAnswerWithinTheResponseTimeoutThenTheConnectionIdles() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: Self.ms(1))
        c.headRead(nowNs: Self.ms(1))
        c.endRead(nowNs: Self.ms(3))
        #expect(c.answersOwed == 1 && c.deadline.atNs == Self.ms(43) && c.deadline.expiry == .response)
        c.answerWritten(nowNs: Self.ms(50))
        #expect(c.answersOwed == 0 && c.deadline.atNs == Self.ms(80) && c.deadline.expiry == .idle)
    }

    @Test func aPipelinedRequestGetsItsOwnAnswerTimeFromThePreviousAnswer() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: 0)
        c.headRead(nowNs: 0)
        c.endRead(nowNs: 0)
        c.bytesRead(nowNs: Self.ms(1))
        c.headRead(nowNs: Self.ms(1))
        c.endRead(nowNs: Self.ms(1))
        #expect(c.answersOwed == 2 && c.deadline.atNs == Self.ms(40))
        c.answerWritten(nowNs: Self.ms(30))
        #expect(c.answersOwed == 1 && c.deadline.atNs == Self.ms(70) && c.deadline.expiry == .response)
    }

    @Test func aStreamedAnswerLivesWhileItsPartsAreWrittenAndDiesWhenTheyStop() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: 0)
        c.headRead(nowNs: 0)
        c.endRead(nowNs: Self.ms(1))
        for t in stride(from: UInt64(30), through: 300, by: 30) {
            #expect(c.expired(nowNs: Self.ms(t)) == nil)
            c.answerProgressed(nowNs: Self.ms(t))
        }
        #expect(c.deadline.atNs == Self.ms(340) && c.deadline.expiry == .response)
        #expect(c.expired(nowNs: Self.ms(340)) == .response)
        // With no answer owed, a written part changes nothing.
        var idle = ConnectionClock(limits: Self.limits, nowNs: 0)
        idle.answerProgressed(nowNs: Self.ms(20))
        #expect(idle.deadline.atNs == Self.ms(30) && idle.deadline.expiry == .idle)
    }

    @Test func anAnswerBeforeTheBodyLeavesTheBodyDeadlineInForce() {
        var c = ConnectionClock(limits: Self.limits, nowNs: 0)
        c.bytesRead(nowNs: 0)
        c.headRead(nowNs: Self.ms(1))
        c.answerWritten(nowNs: Self.ms(2))  // e.g. 413 before the body is read
        #expect(c.answersOwed == 0 && c.deadline.atNs == Self.ms(21) && c.deadline.expiry == .body)
        c.answerWritten(nowNs: Self.ms(3))  // never below zero
        #expect(c.answersOwed == 0)
    }

    @Test func theGuardRefusesOverTheCapAndGivesPlacesBack() {
        let g = ConnectionGuard(limits: ConnectionLimits(maxConnections: 2), logger: Logger(label: "test"), metrics: nil)
        #expect(g.admit() && g.admit())
        #expect(!g.admit() && !g.admit())
        g.release()
        #expect(g.admit())
        #expect(!g.admit())
    }

    @Test func theLogCountsAFloodInOneLinePerInterval() {
        var log = CountedLog(intervalMs: 10)
        #expect(log.record(nowNs: 0) == 1)
        for t in 1...9 { #expect(log.record(nowNs: Self.ms(UInt64(t))) == nil) }
        #expect(log.record(nowNs: Self.ms(10)) == 10)
        #expect(log.record(nowNs: Self.ms(11)) == nil && log.unreported == 1)
    }
}

/// 405 for a known path asked with another method, matched as the router matches paths.
@Suite("API route table")
struct RouteTableTests {
    let table = RouteTable([(.get, "/v1/status"), (.post, "/v1/txs"), (.post, "/v1/txs/json"), (.get, "/v1/txs/:txHash"),
                            (.get, "/v1/works/similar"), (.get, "/v1/works/:contentHash"),
                            (.get, "/v1/works/:contentHash/history")])

    @Test func aLiteralSegmentWinsOverAParameter() {
        #expect(table.methods(for: "/v1/txs/json") == [.post])
        #expect(table.methods(for: "/v1/txs/00ff") == [.get, .head])
        #expect(table.methods(for: "/v1/works/similar") == [.get, .head])
        #expect(table.methods(for: "/v1/works/abc/history") == [.get, .head])
    }

    @Test func unknownPathsHaveNoMethods() {
        #expect(table.methods(for: "/v1/nope") == nil)
        #expect(table.methods(for: "/v1/txs/a/b") == nil)
        #expect(table.methods(for: "/") == nil)
    }

    @Test func getAlsoServesHeadAndAllowListsTheMethods() {
        let t = RouteTable([(.get, "/x"), (.post, "/x")])
        #expect(t.methods(for: "/x") == [.get, .head, .post])
        #expect(RouteTable.allow([.get, .head, .post]) == "GET, HEAD, POST")
    }
}

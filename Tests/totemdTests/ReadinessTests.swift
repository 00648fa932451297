import Testing
@testable import totemd

/// `GET /readyz`'s judgement as values: each reason alone, and all of them at once.
@Suite struct ReadinessTests {
    static let healthy = Readiness.Inputs(isVoting: true, validatorCount: 4, quorum: 3, peersConnected: 4,
                                          validatorPeersConnected: 3, catchingUp: false, blocksBehind: 0,
                                          freeBytes: 10 << 30, minFreeBytes: 1 << 30, clockOffsetMs: 40,
                                          maxClockDriftMs: 2_000)

    static func codes(_ change: (inout Readiness.Inputs) -> Void) -> [String] {
        var i = healthy
        change(&i)
        return Readiness.reasons(i).map(\.code)
    }

    @Test func aHealthyNodeIsReady() {
        #expect(Readiness.reasons(Self.healthy).isEmpty)
        #expect(Self.codes { $0.validatorPeersConnected = 2 }.isEmpty, "with this node, 3 of 4 make the quorum")
        #expect(Self.codes { $0.clockOffsetMs = -2_000 }.isEmpty)
        #expect(Self.codes { $0.freeBytes = nil }.isEmpty, "unknown free space is not a reason")
    }

    @Test func eachReasonHasItsCode() {
        #expect(Self.codes { $0.validatorPeersConnected = 1 } == ["no_quorum_of_peers"])
        #expect(Self.codes { $0.isVoting = false; $0.peersConnected = 0; $0.validatorPeersConnected = 0 } == ["no_peers"])
        #expect(Self.codes { $0.isVoting = false; $0.validatorPeersConnected = 0 }.isEmpty, "an observer needs one peer")
        #expect(Self.codes { $0.catchingUp = true; $0.blocksBehind = 500 } == ["catching_up"])
        #expect(Self.codes { $0.freeBytes = 100 << 20 } == ["disk_nearly_full"])
        #expect(Self.codes { $0.clockOffsetMs = 30_000 } == ["clock_offset"])
        #expect(Self.codes { $0.clockOffsetMs = -2_001 } == ["clock_offset"])
        #expect(Self.codes { $0.abstention = .awaitingNetworkHeight } == ["abstaining"])
        #expect(Self.codes { $0.abstention = .through(40) } == ["abstaining"])
    }

    @Test func anAbstainingValidatorSaysUntilWhen() {
        var i = Self.healthy
        i.abstention = .through(40)
        #expect(Readiness.reasons(i).first?.message.hasPrefix("abstaining (fenced through height 40)") == true)
        i.abstention = .awaitingNetworkHeight
        #expect(Readiness.reasons(i).first?.message.contains("not voting until the network's height is known") == true)
    }

    @Test func everyReasonThatHoldsIsSaid() {
        let reasons = Readiness.reasons({
            var i = Self.healthy
            i.validatorPeersConnected = 0
            i.catchingUp = true
            i.blocksBehind = 12
            i.freeBytes = 0
            i.clockOffsetMs = 9_999
            return i
        }())
        #expect(reasons.map(\.code) == ["no_quorum_of_peers", "catching_up", "disk_nearly_full", "clock_offset"])
        #expect(reasons[0].message.contains("connected to 0 of the 3 other validators"))
        #expect(reasons[1].message.hasPrefix("12 blocks behind"))
    }
}

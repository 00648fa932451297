import Testing
@testable import totemd

/// When a validator started without any signing state may vote again (`SigningFence`), as values:
/// it waits until it has heard enough validators and caught up, fences above the highest height
/// heard, and fences nothing on a network that has decided nothing yet.
@Suite struct SigningFenceTests {
    /// A member of 4 validators (q = 3) that heard 2 others and has caught up to height 120.
    static let caughtUp = SigningFence.Inputs(validatorCount: 4, isMember: true, validatorsHeard: 2, catchingUp: false,
                                              storedHeight: 120, highestReported: 121)

    static func decide(_ change: (inout SigningFence.Inputs) -> Void) -> SigningFence.Decision {
        var i = caughtUp
        change(&i)
        return SigningFence.decide(i)
    }

    @Test func itFencesAboveTheHighestHeightHeard() {
        let margin = SigningFence.marginHeights
        #expect(SigningFence.decide(Self.caughtUp) == .fence(through: 121 + 1 + margin))
        // The stored height counts too: this node's own blocks were decided by the network.
        #expect(Self.decide { $0.highestReported = 100 } == .fence(through: 120 + 1 + margin))
        // A validator heard at height 1 only: a network that decided one block is already fenced.
        #expect(Self.decide { $0.storedHeight = 0; $0.highestReported = 1 } == .fence(through: 2 + margin))
        #expect(Self.decide { $0.highestReported = .max - 1 } == .fence(through: .max), "saturates")
    }

    @Test func itWaitsForQMinusOneOtherValidatorsAndForCatchUp() {
        #expect(Self.decide { $0.validatorsHeard = 1 } == .wait, "one other validator of 4 is not q - 1 = 2")
        #expect(Self.decide { $0.validatorsHeard = 0; $0.highestReported = 0; $0.storedHeight = 0 } == .wait,
                "nothing heard says nothing about the network, even at height 0")
        #expect(Self.decide { $0.catchingUp = true } == .wait, "the heights reported are not yet checked here")
        #expect(Self.decide { $0.validatorCount = 7; $0.validatorsHeard = 3 } == .wait, "q - 1 = 4 of 7")
        #expect(Self.decide { $0.validatorCount = 7; $0.validatorsHeard = 4 } == .fence(through: 121 + 1 + SigningFence.marginHeights))
        // A validator not (yet) in the set at its stored height (one that joined later) waits the same.
        #expect(Self.decide { $0.isMember = false; $0.validatorsHeard = 1 } == .wait)
        #expect(Self.decide { $0.isMember = false } == .fence(through: 121 + 1 + SigningFence.marginHeights))
    }

    @Test func aNetworkThatDecidedNothingNeedsNoFence() {
        // Validators of a new network all start without a signing state: each votes from height 1.
        #expect(Self.decide { $0.storedHeight = 0; $0.highestReported = 0 } == .noFence(.nothingDecided))
        #expect(Self.decide { $0.storedHeight = 0; $0.highestReported = 0; $0.validatorsHeard = 3 } == .noFence(.nothingDecided))
        // A lone validator of a new chain hears nobody and needs nobody.
        #expect(Self.decide { $0.validatorCount = 1; $0.validatorsHeard = 0; $0.storedHeight = 0; $0.highestReported = 0 }
                == .noFence(.nothingDecided))
    }

    @Test func withoutFaultToleranceAFenceWouldStopTheChain() {
        // n <= 3: the others are fewer than q, so nothing below a fence could ever be decided.
        for n in 1...3 {
            #expect(Self.decide { $0.validatorCount = n; $0.validatorsHeard = n - 1 } == .noFence(.othersCannotDecide))
        }
        #expect(Self.decide { $0.validatorCount = 3; $0.isMember = false; $0.validatorsHeard = 2 }
                == .fence(through: 121 + 1 + SigningFence.marginHeights), "not a member: the set decides without it")
    }

    @Test func theValidatorsNeededAreQuorumMinusOne() {
        #expect([1, 4, 5, 7, 10].map { SigningFence.validatorsNeeded(validatorCount: $0) } == [0, 2, 3, 4, 6])
    }
}

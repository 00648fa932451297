import ChainModel
import Testing
import TotemCrypto
@testable import Consensus

/// The leader rotation as values: the base rotation without history, benching after a missed turn,
/// probes at doubling intervals then once per window, and the same answer from a rotation rebuilt
/// from the needed heights only (a restarted node) as from one that saw every block.
@Suite struct LeaderRotationTests {
    static let keys = (0..<4).map { SHA256.hash(Array("rotation key \($0)".utf8)) }
    static let set = ValidatorSet(keys)!

    /// Proposers of heights 1 ..< `upTo`: the base view-0 leader, except `down`, whose base turns
    /// are taken by the next validator (as after its view change).
    static func chain(upTo height: UInt64, down: Bytes32?, set: ValidatorSet = set) -> [Bytes32] {
        (1..<height).map { h in
            let base = set.leader(height: h, view: 0)
            return base == down ? set.leader(height: h, view: 1) : base
        }
    }

    static func rotation(_ proposers: [Bytes32], setFrom: UInt64 = 1) -> LeaderRotation {
        var r = LeaderRotation(setFromHeight: setFrom)
        for (i, p) in proposers.enumerated() { r.record(height: UInt64(i + 1), proposer: p, validatorCount: set.count) }
        return r
    }

    @Test func withoutHistoryTheOrderIsTheBaseRotation() {
        let r = LeaderRotation(setFromHeight: 1)
        for h in UInt64(1)...9 {
            #expect(r.leaders(at: h, validators: Self.set) == (0..<4).map { Self.set.leader(height: h, view: UInt32($0)) })
        }
        let healthy = Self.rotation(Self.chain(upTo: 100, down: nil))
        #expect(healthy.leaders(at: 100, validators: Self.set) == (0..<4).map { Self.set.leader(height: 100, view: UInt32($0)) })
    }

    @Test func aValidatorThatMissedItsTurnIsBenchedUntilAProbe() {
        let down = Self.set.keys[1]  // base turns: heights 1, 5, 9, … (h mod 4 == 1)
        let proposers = Self.chain(upTo: 2, down: down)  // it missed height 1
        var r = Self.rotation(proposers)
        // At height 2 it is second in the base order: benched, it goes last.
        #expect(r.leaders(at: 2, validators: Self.set) == [Self.set.keys[2], Self.set.keys[3], Self.set.keys[0], down])
        // Its turns at 5, 9, … are benched (missed 1, 2, …); 61 is a probe (missed 15), then 253
        // (63) and 1021 (255).
        var probes: [UInt64] = []
        for h in UInt64(2)...1_100 {
            let leaders = r.leaders(at: h, validators: Self.set)
            if leaders[0] == down { probes.append(h) }
            // It fails again: someone else proposes.
            r.record(height: h, proposer: leaders[0] == down ? leaders[1] : leaders[0], validatorCount: 4)
        }
        #expect(probes == [61, 253, 1_021])
        #expect(r.isProbe(at: 1_021, validators: Self.set) && !r.isProbe(at: 1_025, validators: Self.set))
        #expect(!r.isProbe(at: 1_022, validators: Self.set), "only at its own turn")
        // One that proposes at a probe has a missed count of 0 and leads its next turn.
        var recovered = LeaderRotation(setFromHeight: 1)
        for (i, p) in Self.chain(upTo: 17, down: down).enumerated() {
            recovered.record(height: UInt64(i + 1), proposer: i + 1 == 13 ? down : p, validatorCount: 4)
        }
        #expect(recovered.leaders(at: 17, validators: Self.set)[0] == down)
    }

    @Test func afterAFullWindowOfMissesItIsTriedOncePerWindow() {
        let down = Self.set.keys[0]  // turns: h mod 4 == 0
        var r = LeaderRotation(setFromHeight: 1)
        var probes: [UInt64] = []
        let turns = UInt64(LeaderRotation.windowTurns)
        for h in UInt64(1)...(4 * turns * 3) {
            let leaders = r.leaders(at: h, validators: Self.set)
            if leaders[0] == down { probes.append(h) }
            r.record(height: h, proposer: leaders[0] == down ? leaders[1] : leaders[0], validatorCount: 4)
        }
        let late = probes.filter { $0 > 4 * turns }
        #expect(late.count == 2, "probes after the window filled: \(late)")
        #expect(late.allSatisfy { ($0 / 4) % turns == 0 })
    }

    /// A node that restarts reads only `neededHeights` from its store: its leaders must be those of
    /// a node that saw every block, whatever the history (here: random failures of each validator).
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func aRotationRebuiltFromTheNeededHeightsAgreesWithOneThatSawEverything(seed: UInt64) {
        var rng = PRNG(seed: seed)
        var full = LeaderRotation(setFromHeight: 1)
        var proposers: [Bytes32] = []
        let flaky = Self.set.keys[Int(seed % 4)]
        for h in UInt64(1)...1_500 {
            let leaders = full.leaders(at: h, validators: Self.set)
            // The flaky validator fails 9 times in 10 when it leads view 0; others rarely.
            let fails = leaders[0] == flaky ? rng.chance(permille: 900) : rng.chance(permille: 20)
            let p = fails ? leaders[1] : leaders[0]
            proposers.append(p)
            full.record(height: h, proposer: p, validatorCount: 4)
            if h % 97 == 0 || h > 1_480 {
                let needed = LeaderRotation.neededHeights(before: h + 1, validatorCount: 4, setFromHeight: 1)
                let rebuilt = LeaderRotation(setFromHeight: 1, firstHeight: needed.lowerBound,
                                             proposers: needed.map { proposers[Int($0) - 1] })
                #expect(rebuilt.leaders(at: h + 1, validators: Self.set) == full.leaders(at: h + 1, validators: Self.set),
                        "height \(h + 1)")
            }
        }
    }

    @Test func aNewSetStartsEveryoneAfresh() {
        let down = Self.set.keys[3]
        var r = Self.rotation(Self.chain(upTo: 50, down: down))
        #expect(r.leaders(at: 50, validators: Self.set).last == down)
        let bigger = ValidatorSet(Self.keys + [SHA256.hash(Array("fifth".utf8))])!
        r.newSet(from: 50)
        #expect(r.leaders(at: 50, validators: bigger) == (0..<5).map { bigger.leader(height: 50, view: UInt32($0)) })
        #expect(LeaderRotation.neededHeights(before: 50, validatorCount: 5, setFromHeight: 50).isEmpty)
        #expect(LeaderRotation.neededHeights(before: 5_000, validatorCount: 4, setFromHeight: 1) == 2_952..<5_000)
        // A large set looks back over fewer turns: the window stays within windowHeightsMax.
        #expect(LeaderRotation.turnsLookedBack(validatorCount: 1_024) == 32)
        #expect(LeaderRotation.neededHeights(before: 100_000, validatorCount: 1_024, setFromHeight: 1).count == 32_768)
    }

    /// A replica waits an eighth of the proposal timeout for a probed leader's proposal, the full
    /// timeout otherwise.
    @Test func aProbeTurnHasAShortViewTimer() throws {
        let keys = TestKeys(count: 4)
        let set = try #require(keys.set(["r0", "r1", "r2", "r3"]))
        let down = set.keys[1]
        // r1 missed its turns 1, 5, …, 57 (15 turns): height 61 is its probe; 65 is benched.
        func replica(at height: UInt64) -> Replica<TestBlock> {
            let proposers = Self.chain(upTo: height, down: down, set: set)
            let rotation = LeaderRotation(setFromHeight: 1, firstHeight: 1, proposers: proposers)
            let position = ChainPosition(height: height, parentHash: SHA256.hash([1]), parentCertificate: nil,
                                         validators: set, nextValidators: set, rotation: rotation)
            return Replica(config: ReplicaConfig(proposalTimeoutMs: 2_000, maxProposalTimeoutMs: 16_000, emptyBlockIntervalMs: 5_000),
                           signer: keys.signer("r0")!, verifier: Ed25519SignatureVerifier(genesisHash: TestKeys.genesisHash),
                           position: position)
        }
        func viewTimer(_ r: inout Replica<TestBlock>) -> UInt64? {
            _ = r.step(.start)
            return r.step(.workPending).compactMap { a -> UInt64? in
                if case let .scheduleTimeout(t, ms) = a, t.kind == .view, t.view == 0 { ms } else { nil }
            }.first
        }
        var probe = replica(at: 61)
        #expect(probe.probeTurn && probe.leader(view: 0) == down)
        #expect(viewTimer(&probe) == 250)
        var benched = replica(at: 65)
        #expect(!benched.probeTurn && benched.leader(view: 0) == set.keys[2])
        #expect(viewTimer(&benched) == 2_000)
    }
}

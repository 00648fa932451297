import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

private func add(_ i: Int, name: String? = nil) -> Payload {
    .validatorChange(ValidatorChange(op: .add, validator: Keys.validators[i].publicKey, name: name ?? "validator-\(i)",
                                     p2pAddress: "127.0.0.1:\(26600 + i)"))
}

private func remove(_ i: Int) -> Payload {
    .validatorChange(ValidatorChange(op: .remove, validator: Keys.validators[i].publicKey, name: "", p2pAddress: ""))
}

private func set(_ indices: [Int]) -> ValidatorSet {
    guard let s = ValidatorSet(indices.map { Keys.validators[$0].publicKey }) else { preconditionFailure("test set") }
    return s
}

/// Votes of validators `voters` for `payload`, each voter's next nonce plus its earlier votes in `votes`.
private func votes(_ h: Harness, _ payload: Payload, by voters: [Int], after earlier: [SignedTx] = []) -> [SignedTx] {
    voters.map { v in
        let key = Keys.validators[v]
        let ahead = UInt64(earlier.filter { $0.tx.sender == key.publicKey }.count)
        return h.tx(key, payload, ahead: ahead)
    }
}

@Suite("State machine: validator changes")
struct StateMachineValidatorChangeTests {
    @Test func adoptedAtQuorumAndInForceTwoBlocksLater() {
        var h = Harness()
        let old = set([0, 1, 2, 3]), new = set([0, 1, 2, 3, 4])
        let b1 = h.commit(votes(h, add(4), by: [0, 1]))
        #expect(h.state.validatorTallies().tallies.map(\.voters) == [[Keys.validators[0].publicKey, Keys.validators[1].publicKey]])
        #expect(b1.block.header.nextValidatorSetHash == old.hash)
        let b2 = h.commit(votes(h, add(4), by: [2]))  // third of four: q = 3, adopted in block 2
        #expect(h.state.validatorTallies().tallies.isEmpty)
        #expect(b2.block.header.validatorSetHash == old.hash && b2.block.header.nextValidatorSetHash == old.hash)
        #expect(h.error(h.tx(Keys.validators[4], add(5)))?.code == .notValidator)  // not in force at 3
        let b3 = h.commit([])
        #expect(b3.block.header.validatorSetHash == old.hash)
        #expect(b3.block.header.nextValidatorSetHash == new.hash)
        #expect(b3.outcome.nextValidators == new)
        let b4 = h.commit(votes(h, add(5), by: [4]))  // validator 4 votes from height 4
        #expect(b4.block.header.validatorSetHash == new.hash && b4.block.header.nextValidatorSetHash == new.hash)
        #expect(h.state.validatorSetRecord().epochs.count == 1)
        let member = h.state.validatorSetRecord().latest.members.first { $0.key == Keys.validators[4].publicKey }
        #expect(member == ValidatorMember(key: Keys.validators[4].publicKey, name: "validator-4", p2pAddress: "127.0.0.1:26604"))
        #expect(h.state.validatorHistory().entries.map(\.fromHeight) == [1, 4])
    }

    @Test func notAdoptedBelowQuorum() {
        var h = Harness(Harness.config(validators: 6))  // q = 5
        h.commit(votes(h, add(6, name: "x"), by: [0, 1, 2, 3]))
        #expect(h.state.validatorSetRecord().epochs.count == 1)
        let b = h.commit(votes(h, add(6, name: "x"), by: [4]))
        #expect(h.state.validatorTallies().tallies.isEmpty)
        #expect(b.outcome.nextValidators == set([0, 1, 2, 3, 4, 5]))  // adopted: in force from h + 2
        #expect(h.state.validatorSetRecord().latest.members.count == 7)
    }

    @Test func removalTakesEffectAtHPlus2() {
        var h = Harness()
        h.commit(votes(h, remove(3), by: [0, 1, 2]))  // adopted at 1, in force from 3
        #expect(h.error(h.tx(Keys.validators[3], add(4))) == nil)  // still in force at 2
        h.commit([])
        #expect(h.error(h.tx(Keys.validators[3], add(4)))?.code == .notValidator)
        #expect(h.parent.height == 2)
        let b3 = h.commit([])
        #expect(b3.outcome.validators == set([0, 1, 2]))
    }

    @Test func quorumCountsOnlyTheSetInForce() {
        var h = Harness()
        h.commit(votes(h, remove(3), by: [0, 1, 2]))      // set {0,1,2} from height 3
        h.commit(votes(h, add(4), by: [3]))               // validator 3 votes at height 2, still in force
        h.commit(votes(h, add(4), by: [0, 1]))            // height 3: 3 voters, 2 of them in force; q(3) = 3
        #expect(h.state.validatorSetRecord().epochs.count == 1)
        #expect(h.state.validatorTallies().tallies.first?.voters.count == 3)
        let b = h.commit(votes(h, add(4), by: [2]))
        #expect(h.state.validatorTallies().tallies.isEmpty)
        #expect(h.state.validatorSetRecord().latest.keys == set([0, 1, 2, 4]).keys)
        #expect(b.outcome.validators == set([0, 1, 2]))
    }

    @Test func tallyExpiresAfterTtl() {
        var h = Harness(Harness.config(ttl: 5))
        h.commit(votes(h, add(4), by: [0]))               // first vote at height 1: counts up to 5
        for _ in 2...4 { h.commit([]) }
        h.commit(votes(h, add(4), by: [1]))               // height 5: still counts
        #expect(h.state.validatorTallies().tallies.first?.voters.count == 2)
        h.commit(votes(h, add(4), by: [2]))               // height 6: expired, a new tally starts
        let tallies = h.state.validatorTallies().tallies
        #expect(tallies.count == 1)
        #expect(tallies.first?.firstHeight == 6)
        #expect(tallies.first?.voters == [Keys.validators[2].publicKey])
        #expect(h.state.validatorSetRecord().epochs.count == 1)
        // Validator 0 may vote again in the restarted tally.
        #expect(h.error(h.tx(Keys.validators[0], add(4))) == nil)
    }

    @Test func voteOnTheLastCountingHeightAdopts() {
        var h = Harness(Harness.config(ttl: 5))
        h.commit(votes(h, add(4), by: [0, 1]))
        for _ in 2...4 { h.commit([]) }
        let b = h.commit(votes(h, add(4), by: [2]))       // height 5 = 1 + 5 - 1
        #expect(h.state.validatorTallies().tallies.isEmpty)
        #expect(h.state.validatorSetRecord().latest.keys.count == 5)
        #expect(b.outcome.nextValidators == set([0, 1, 2, 3]))
    }

    @Test func adoptionClearsTalliesAndLaterVotesStartNewOnes() {
        var h = Harness()
        let first = votes(h, add(4), by: [0, 1])
        let other = votes(h, add(5), by: [0], after: first)
        h.commit(first + other)
        #expect(h.state.validatorTallies().tallies.count == 2)
        let adopt = votes(h, add(4), by: [2])
        let later = votes(h, add(5), by: [1])
        h.commit(adopt + later)
        let tallies = h.state.validatorTallies().tallies
        #expect(tallies.count == 1)
        #expect(tallies.first?.validator == Keys.validators[5].publicKey)
        #expect(tallies.first?.voters == [Keys.validators[1].publicKey])
        #expect(tallies.first?.firstHeight == 2)
    }

    @Test func twoAdoptionsInOneBlockCompose() {
        var h = Harness()
        let a = votes(h, add(4), by: [0, 1, 2])
        let b = votes(h, add(5), by: [0, 1, 2], after: a)
        h.commit(a + b)
        #expect(h.state.validatorSetRecord().epochs.map(\.fromHeight) == [1, 3])
        #expect(h.state.validatorHistory().entries.map(\.fromHeight) == [1, 3])
        let b2 = h.commit([])
        #expect(b2.outcome.nextValidators == set([0, 1, 2, 3, 4, 5]))
    }

    @Test func adoptionWhileAnotherIsPendingAppliesToTheNewestSet() {
        var h = Harness()
        h.commit(votes(h, add(4), by: [0, 1, 2]))        // set A from 3
        #expect(h.error(h.tx(Keys.validators[0], add(4)))?.code == .validatorPresent)  // present in the newest set
        let b2 = h.commit(votes(h, add(5), by: [1, 2, 3]))  // still the genesis set in force: q = 3; A+5 from 4
        #expect(b2.outcome.nextValidators == set([0, 1, 2, 3, 4]))
        let b3 = h.commit([])
        #expect(b3.outcome.validators == set([0, 1, 2, 3, 4]))
        #expect(b3.outcome.nextValidators == set([0, 1, 2, 3, 4, 5]))
        let b4 = h.commit([])
        #expect(b4.outcome.validators == set([0, 1, 2, 3, 4, 5]))
        #expect(h.state.validatorHistory().entries.map(\.fromHeight) == [1, 3, 4])
    }

    @Test func rejections() {
        var h = Harness()
        #expect(h.error(h.tx(Keys.stranger, add(4)))?.code == .notValidator)
        #expect(h.error(h.tx(Keys.registrar, add(4)))?.code == .notValidator)
        #expect(h.error(h.tx(Keys.validators[0], add(1)))?.code == .validatorPresent)
        #expect(h.error(h.tx(Keys.validators[0], remove(5)))?.code == .validatorAbsent)
        #expect(h.error(h.tx(Keys.validators[0], add(4, name: "")))?.code == .validatorChangeFields)
        let removeWithName = Payload.validatorChange(ValidatorChange(op: .remove, validator: Keys.validators[3].publicKey,
                                                                     name: "validator-3", p2pAddress: ""))
        #expect(h.error(h.tx(Keys.validators[0], removeWithName))?.code == .validatorChangeFields)
        h.commit(votes(h, add(4), by: [0]))
        #expect(h.error(h.tx(Keys.validators[0], add(4)))?.code == .validatorVoteDuplicate)
        // The same key with another name is another change.
        #expect(h.error(h.tx(Keys.validators[0], add(4, name: "validator-4b"))) == nil)
    }

    @Test func setSizeIsBounded() {
        let full = ValidatorEpoch(fromHeight: 1, members: (0..<Limits.validatorsMaxCount).map {
            ValidatorMember(key: SHA256.hash(Array("k\($0)".utf8)), name: "v", p2pAddress: "a")
        })
        let change = ValidatorChange(op: .add, validator: SHA256.hash([0]), name: "n", p2pAddress: "a")
        #expect(throws: TxError.self) { try StateMachine.checkApplies(change, to: full) }
        do {
            try StateMachine.checkApplies(change, to: full)
        } catch {
            #expect(error.code == .validatorSetFull)
        }
        let room = ValidatorEpoch(fromHeight: 1, members: Array(full.members.dropLast()))
        #expect(throws: Never.self) { try StateMachine.checkApplies(change, to: room) }
    }

    @Test func lastValidatorCannotBeRemoved() {
        let h = Harness(Harness.config(validators: 1))
        #expect(h.error(h.tx(Keys.validators[0], remove(0)))?.code == .validatorLast)
        #expect(h.error(h.tx(Keys.validators[0], add(1))) == nil)
    }

    @Test func openTalliesPerValidatorAreBounded() {
        var h = Harness()
        let limit = StateLimits.openTalliesPerValidatorMax
        let txs = (0..<limit).map { i in
            h.tx(Keys.validators[0], .validatorChange(ValidatorChange(op: .add, validator: SHA256.hash([UInt8(i)]),
                                                                      name: "v\(i)", p2pAddress: "a")), ahead: UInt64(i))
        }
        h.commit(txs)
        #expect(h.state.validatorTallies().tallies.count == limit)
        let more = Payload.validatorChange(ValidatorChange(op: .add, validator: SHA256.hash([0xff]), name: "x", p2pAddress: "a"))
        #expect(h.error(h.tx(Keys.validators[0], more))?.code == .validatorVoteLimit)
        #expect(h.error(h.tx(Keys.validators[1], more)) == nil)
    }
}

/// Two conflicting votes of `validator` at (height, view, phase), hashes ordered as the codec requires.
private func evidence(_ validator: SigningKey, height: UInt64, view: UInt32 = 0, phase: VotePhase = .prepare,
                      signPhase: VotePhase? = nil, seed: UInt8 = 1) -> Payload {
    let x = SHA256.hash([seed]), y = SHA256.hash([seed, seed])
    let (a, b) = x < y ? (x, y) : (y, x)
    let sign = { (hash: Bytes32) in
        VoteBody(height: height, view: view, blockHash: hash).sign(signPhase ?? phase, key: validator, genesisHash: Harness.genesisHash)
    }
    return .submitEvidence(SubmitEvidence(phase: phase, validator: validator.publicKey, height: height, view: view,
                                          blockHashA: a, signatureA: sign(a), blockHashB: b, signatureB: sign(b)))
}

@Suite("State machine: evidence")
struct StateMachineEvidenceTests {
    @Test func validatorSubmitsEvidenceOnce() throws {
        var h = Harness()
        h.commit([])
        let t = h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 1))
        h.commit([t])
        let r = try #require(h.state.evidence(validator: Keys.validators[1].publicKey, height: 1, view: 0, phase: .prepare))
        #expect(r.submitter == Keys.validators[0].publicKey && r.includedAtHeight == 2 && r.txHash == t.hash)
        #expect(h.error(h.tx(Keys.validators[2], evidence(Keys.validators[1], height: 1)))?.code == .evidenceDuplicate)
        #expect(h.error(h.tx(Keys.validators[2], evidence(Keys.validators[1], height: 1, seed: 7)))?.code == .evidenceDuplicate)
        // Another phase or view is another offence.
        #expect(h.error(h.tx(Keys.validators[2], evidence(Keys.validators[1], height: 1, phase: .commit))) == nil)
        #expect(h.error(h.tx(Keys.validators[2], evidence(Keys.validators[1], height: 1, view: 1))) == nil)
    }

    @Test func signaturesMustVerifyInThePhaseDomain() {
        var h = Harness()
        h.commit([])
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 1, phase: .prepare, signPhase: .commit)))?.code
                == .evidenceBadSignature)
        guard case .submitEvidence(var e) = evidence(Keys.validators[1], height: 1) else { return }
        e.signatureB = e.signatureA
        #expect(h.error(h.tx(Keys.validators[0], .submitEvidence(e)))?.code == .evidenceBadSignature)
    }

    @Test func evidenceThatWouldNotApplyIsFoundBeforeBlockBuilding() {
        var h = Harness()
        h.commit([])
        let good = h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 1))
        #expect(h.sm.evidenceProblem(good, state: h.state, height: h.height + 1) == nil)
        let forged = h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 1, phase: .prepare, signPhase: .commit))
        #expect(h.sm.evidenceProblem(forged, state: h.state, height: h.height + 1)?.code == .evidenceBadSignature)
        let byStranger = h.tx(Keys.stranger, evidence(Keys.validators[1], height: 1))
        #expect(h.sm.evidenceProblem(byStranger, state: h.state, height: h.height + 1)?.code == .notValidator)
        h.commit([good])
        let again = h.tx(Keys.validators[2], evidence(Keys.validators[1], height: 1))
        #expect(h.sm.evidenceProblem(again, state: h.state, height: h.height + 1)?.code == .evidenceDuplicate)
        #expect(h.sm.evidenceProblem(h.tx(Keys.root, .registerWork(work(1))), state: h.state, height: h.height + 1) == nil,
                "other kinds are not its business")
    }

    @Test func accusedMustBeInTheSetAtThatHeight() {
        var h = Harness()
        h.commit(votes(h, add(4), by: [0, 1, 2]))  // validator 4 in force from 3
        h.commit([]); h.commit([])
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[4], height: 2)))?.code == .evidenceNotInSet)
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[4], height: 3))) == nil)
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.stranger, height: 3)))?.code == .evidenceNotInSet)
    }

    @Test func heightMustBeKnown() {
        var h = Harness()
        h.commit([])
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 0)))?.code == .evidenceHeight)
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 3)))?.code == .evidenceHeight)
        #expect(h.error(h.tx(Keys.validators[0], evidence(Keys.validators[1], height: 2))) == nil)  // the block's own height
    }

    @Test func onlyValidatorsSubmit() {
        var h = Harness()
        h.commit([])
        #expect(h.error(h.tx(Keys.stranger, evidence(Keys.validators[1], height: 1)))?.code == .notValidator)
        #expect(h.error(h.tx(Keys.root, evidence(Keys.validators[1], height: 1)))?.code == .notValidator)
    }
}

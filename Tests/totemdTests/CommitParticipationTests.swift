import ChainModel
import Testing
import TotemCrypto
@testable import totemd

/// Missed commits per validator (`totem_validator_missed_commits_total`) as values: who is absent
/// from a certificate, and the series `/metrics` shows for a sequence of decided blocks.
@Suite("Commit participation")
struct CommitParticipationTests {
    let a = Bytes32(w0: 0xaaaa_0000_0000_0001, w1: 0, w2: 0, w3: 0)
    let b = Bytes32(w0: 0xbbbb_0000_0000_0002, w1: 0, w2: 0, w3: 0)
    let c = Bytes32(w0: 0xcccc_0000_0000_0003, w1: 0, w2: 0, w3: 0)
    let d = Bytes32(w0: 0xdddd_0000_0000_0004, w1: 0, w2: 0, w3: 0)
    var set: ValidatorSet { ValidatorSet([d, b, a, c])! }

    @Test func absentAreTheSetMembersWithoutASignatureInSetOrder() {
        #expect(CommitParticipation.absent(signers: [c, a, d], set: set) == [b])
        #expect(CommitParticipation.absent(signers: [a, b, c, d], set: set).isEmpty)
        #expect(CommitParticipation.absent(signers: [], set: set) == [a, b, c, d])
        let stranger = Bytes32(w0: 9, w1: 0, w2: 0, w3: 0)
        #expect(CommitParticipation.absent(signers: [stranger, a], set: set) == [b, c, d], "a non-member counts for nothing")
        #expect(CommitParticipation.absent(signers: [a, a, b], set: set) == [c, d])
    }

    @Test func lastSignedIsTheHighestHeightCarryingEachKeysCommit() {
        let sig = Bytes64.zero
        func cert(_ h: UInt64, _ keys: [Bytes32]) -> CommitCertificate {
            CommitCertificate(height: h, view: 0, signatures: keys.map { ValidatorSignature(validator: $0, signature: sig) })
        }
        // Any order: the newest certificate carrying a key wins, however they were read.
        let last = CommitParticipation.lastSigned([cert(7, [a, b, c]), cert(9, [a, c, d]), cert(8, [a, b, d])])
        #expect(last == [a: 9, b: 8, c: 9, d: 9])
        #expect(CommitParticipation.lastSigned([cert(3, [a])])[b] == nil, "a key in no certificate has no entry")
        #expect(CommitParticipation.lastSigned([]).isEmpty)
    }

    @Test func theLabelIsTheKeysFirstSixteenHexDigits() {
        #expect(CommitParticipation.label(a) == "aaaa000000000001")
        #expect(a.hex.hasPrefix(CommitParticipation.label(a)))
    }

    /// The sample of `name{validator="label"}` in the exposition text, nil when there is none.
    static func sample(_ text: String, _ name: String, _ label: String) -> Double? {
        let prefix = "\(name){validator=\"\(label)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
    }

    @Test func decidedBlocksCountTheAbsentAndCatchUpMovesOnlyTheLastSignedHeight() {
        let metrics = NodeMetrics()
        let commits = metrics.validatorCommits
        commits.decided(height: 1, signers: [a, b, c], set: set)
        commits.decided(height: 2, signers: [a, b, c], set: set)
        commits.decided(height: 3, signers: [a, c, d], set: set)
        commits.caughtUp(height: 9, signers: [a, b, c])
        let text = String(decoding: metrics.render(), as: UTF8.self)
        func missed(_ k: Bytes32) -> Double? { Self.sample(text, "totem_validator_missed_commits_total", CommitParticipation.label(k)) }
        func last(_ k: Bytes32) -> Double? { Self.sample(text, "totem_validator_last_signed_height", CommitParticipation.label(k)) }
        #expect([missed(a), missed(b), missed(c), missed(d)] == [0, 1, 0, 2], "\(text)")
        #expect([last(a), last(b), last(c), last(d)] == [9, 9, 9, 3], "\(text)")
    }

    @Test func aValidatorThatLeavesTheSetLosesItsSeries() {
        let metrics = NodeMetrics()
        let commits = metrics.validatorCommits
        commits.decided(height: 1, signers: [a, b, c], set: set)
        let smaller = ValidatorSet([a, b, c])!
        commits.decided(height: 2, signers: [a, b], set: smaller)
        let text = String(decoding: metrics.render(), as: UTF8.self)
        func missed(_ k: Bytes32) -> Double? { Self.sample(text, "totem_validator_missed_commits_total", CommitParticipation.label(k)) }
        #expect(missed(d) == nil, "\(text)")
        #expect(Self.sample(text, "totem_validator_last_signed_height", CommitParticipation.label(d)) == nil)
        #expect([missed(a), missed(b), missed(c)] == [0, 0, 1], "the series of the validators that stay are kept")
    }
}

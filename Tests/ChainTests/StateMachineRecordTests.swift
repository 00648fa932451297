import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

private func roundTrip<R: StateRecord & Equatable>(_ r: R, _ table: StateTable) {
    #expect(R.decodeStored(r.encoded, table) == r)
}

@Suite("State machine: record layouts (docs/state.md)")
struct StateMachineRecordTests {
    let a = SHA256.hash([1]), b = SHA256.hash([2]), c = SHA256.hash([3])

    @Test func identityLayoutIsTheDocumentedOne() {
        let r = IdentityRecord(displayName: "Zoë", role: .agency, kycDigest: b, registrar: a, registeredAtHeight: 7,
                               revocation: .init(height: 9, by: c, reason: "r"))
        var expected: [UInt8] = [2] + a.bytes + [0, 0, 0, 0, 0, 0, 0, 7] + b.bytes
        expected += [0, 0, 0, 4] + Array("Zoë".utf8)
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 9] + c.bytes + [0, 0, 0, 1] + Array("r".utf8)
        #expect(r.encoded == expected)
        roundTrip(r, .identities)
        var active = r
        active.revocation = nil
        #expect(active.encoded.last == 0)
        roundTrip(active, .identities)
    }

    @Test func workLayoutIsTheDocumentedOne() {
        let w = work(1)
        let r = WorkRecord(work: w, registrant: a, owner: b, ownerSinceHeight: 3, registeredAtMs: 1000, height: 2,
                           txHash: c, txIndex: 5, batchIndex: 4)
        var expected = w.encoded + a.bytes + b.bytes
        expected += [0, 0, 0, 0, 0, 0, 0, 3] + [0, 0, 0, 0, 0, 0, 0x03, 0xe8] + [0, 0, 0, 0, 0, 0, 0, 2] + c.bytes
        expected += [0, 0, 0, 5] + [1, 0, 0, 0, 4]
        #expect(r.encoded == expected)
        roundTrip(r, .works)
    }

    /// Whom a node dials: the set in force and the adopted sets after it, each key once at the
    /// address of the newest set holding it (a validator removed and added again has a new one).
    @Test func membersInForceAndAdoptedTakeTheirNewestAddress() {
        let m = { (k: Bytes32, addr: String) in ValidatorMember(key: k, name: "n", p2pAddress: addr) }
        let record = ValidatorSetRecord(epochs: [
            ValidatorEpoch(fromHeight: 1, members: [m(a, "a:1"), m(b, "b:1")]),
            ValidatorEpoch(fromHeight: 10, members: [m(a, "a:1")]),
            ValidatorEpoch(fromHeight: 12, members: [m(a, "a:1"), m(b, "b:2"), m(c, "c:1")]),
        ])
        #expect(record.members(inForceFrom: 5) == [m(a, "a:1"), m(b, "b:2"), m(c, "c:1")].sorted { $0.key < $1.key })
        #expect(record.members(inForceFrom: 11) == [m(a, "a:1"), m(b, "b:2"), m(c, "c:1")].sorted { $0.key < $1.key })
        #expect(record.members(inForceFrom: 12) == [m(a, "a:1"), m(b, "b:2"), m(c, "c:1")].sorted { $0.key < $1.key })
        let removed = ValidatorSetRecord(epochs: [ValidatorEpoch(fromHeight: 1, members: [m(a, "a:1"), m(b, "b:1")]),
                                                  ValidatorEpoch(fromHeight: 10, members: [m(a, "a:1")])])
        #expect(removed.members(inForceFrom: 9).map(\.key) == [a, b].sorted())
        #expect(removed.members(inForceFrom: 10) == [m(a, "a:1")])
    }

    @Test func otherRecordsRoundTrip() {
        roundTrip(RegistrarRecord(name: "Registro — Ñandú", addedAtHeight: 0), .registrars)
        roundTrip(LicenceRecord(grantor: a, licensee: b, terms: "t", validUntilMs: 0, grantedAtMs: 5, txHash: c), .licences)
        roundTrip(ClaimRecord(claimant: a, infringingDigest: b, locator: "l", note: "", filedAtMs: 1, txHash: c), .claims)
        roundTrip(TransferRecord(from: a, to: b, atMs: 3, txHash: c), .transfers)
        let sig = Bytes64(high: a, low: b)
        roundTrip(EvidenceRecord(blockHashA: a, signatureA: sig, blockHashB: b, signatureB: sig, submitter: c,
                                 includedAtHeight: 4, txHash: a), .evidence)
        let members = [ValidatorMember(key: b, name: "b", p2pAddress: "[::1]:1"), ValidatorMember(key: a, name: "a", p2pAddress: "x")]
        let epoch = ValidatorEpoch(fromHeight: 1, members: members)
        #expect(epoch.keys == [a, b].sorted())
        roundTrip(ValidatorSetRecord(epochs: [epoch, ValidatorEpoch(fromHeight: 5, members: [members[0]])]), .validators)
        roundTrip(ValidatorHistory(entries: [.init(fromHeight: 1, set: epoch.set)]), .validators)
        roundTrip(ValidatorTallies(tallies: [ValidatorTally(op: .remove, validator: a, name: "", p2pAddress: "",
                                                            firstHeight: 3, voters: [c, b])]), .validators)
    }

    @Test func keysAreBigEndianAndOrdered() {
        #expect(StateKeys.workEvent(contentHash: a, height: 1, txIndex: 2) == a.bytes + [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2])
        #expect(StateKeys.evidence(validator: a, height: 1, view: 2, phase: .commit)
                == a.bytes + [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 2])
        let early = StateKeys.workByOwner(owner: a, sinceHeight: 255, contentHash: c)
        let late = StateKeys.workByOwner(owner: a, sinceHeight: 256, contentHash: b)
        #expect(early.lexicographicallyPrecedes(late))
    }

    @Test func emptyBlockChangesHash() {
        #expect(StateChanges().hash == SHA256.hash([0, 0, 0, 0]))
    }

    @Test func genesisState() {
        let h = Harness()
        let record = h.state.validatorSetRecord()
        #expect(record.epochs.count == 1 && record.epochs[0].fromHeight == 1)
        #expect(record.latest.members.map(\.name) == Harness.config().validators.map(\.name))
        #expect(h.state.validatorHistory().inForce(at: 1) == record.latest.set)
        #expect(h.state.validatorTallies().tallies.isEmpty)
        #expect(h.state.tables.count == 3)  // one registrar, the set and its history
    }

    @Test func configRefusesBadValidatorLists() {
        let m = ValidatorMember(key: a, name: "a", p2pAddress: "x")
        func make(_ validators: [ValidatorMember]) -> ChainConfig? {
            try? ChainConfig(chainId: "c", genesisHash: a, genesisTimeMs: 0, rootRegistrar: b, maxBlockTxs: 1,
                             maxBlockBytes: 1, maxTxBytes: 1 << 20, maxClockDriftMs: 0, validatorChangeTtlBlocks: 0,
                             registrars: [], validators: validators)
        }
        #expect(make([]) == nil)
        #expect(make([m, m]) == nil)
        let ok = make([m])
        #expect(ok?.maxTxBytes == Limits.signedTxMaxBytes)
        #expect(ok?.validatorChangeTtlBlocks == 1)
    }
}

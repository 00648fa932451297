import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

/// A chain with photographer P, photographer P2 and agency G registered.
private func chainWithIdentities() -> Harness {
    var h = Harness()
    h.registerIdentity(Keys.photographer)
    h.registerIdentity(Keys.photographer2)
    h.registerIdentity(Keys.agency, role: .agency)
    return h
}

private func revoke(_ key: SigningKey) -> Payload {
    .revokeIdentity(RevokeIdentity(subject: key.publicKey, reason: "test"))
}

@Suite("State machine: registering works")
struct StateMachineRegisterWorkTests {
    @Test func identityRegistersWorkAndOwnsIt() throws {
        var h = chainWithIdentities()
        let t = h.tx(Keys.photographer, .registerWork(work(1)))
        let built = h.commit([h.tx(Keys.agency, .registerWork(work(0))), t])
        let r = try #require(h.state.work(work(1).contentHash))
        #expect(r.work == work(1))
        #expect(r.registrant == Keys.photographer.publicKey)
        #expect(r.owner == Keys.photographer.publicKey)
        #expect(r.height == 4 && r.ownerSinceHeight == 4)
        #expect(r.registeredAtMs == built.block.header.timestampMs)
        #expect(r.txHash == t.hash)
        #expect(r.txIndex == 1)
        #expect(r.batchIndex == nil)
        let byOwner = StateKeys.workByOwner(owner: Keys.photographer.publicKey, sinceHeight: 4, contentHash: work(1).contentHash)
        #expect(h.state.get(.worksByOwner, byOwner) == [])
    }

    @Test func laterTxsOfABlockSeeEarlierOnes() throws {
        var h = Harness()
        let txs = [
            h.tx(Keys.registrar, .registerIdentity(RegisterIdentity(subject: Keys.photographer.publicKey, displayName: "P",
                                                                    role: .photographer, kycDigest: .zero))),
            h.tx(Keys.registrar, .registerIdentity(RegisterIdentity(subject: Keys.agency.publicKey, displayName: "G",
                                                                    role: .agency, kycDigest: .zero)), ahead: 1),
            h.tx(Keys.photographer, .registerWork(work(1))),
            h.tx(Keys.photographer, .transferWork(TransferWork(contentHash: work(1).contentHash, newOwner: Keys.agency.publicKey)),
                 ahead: 1),
            h.tx(Keys.agency, .fileClaim(FileClaim(contentHash: work(1).contentHash, infringingDigest: .zero, locator: "", note: ""))),
        ]
        let built = h.commit(txs)
        #expect(built.block.txs.count == 5)
        let r = try #require(h.state.work(work(1).contentHash))
        #expect(r.owner == Keys.agency.publicKey && r.ownerSinceHeight == 1 && r.txIndex == 2)
        // Registered and transferred in one block: only the new owner's entry remains.
        #expect(h.state.get(.worksByOwner, StateKeys.workByOwner(owner: Keys.photographer.publicKey, sinceHeight: 1,
                                                                  contentHash: work(1).contentHash)) == nil)
    }

    @Test func nonIdentityOrRevokedIdentityCannotRegister() {
        var h = chainWithIdentities()
        #expect(h.error(h.tx(Keys.stranger, .registerWork(work(1))))?.code == .senderNotIdentity)
        #expect(h.error(h.tx(Keys.registrar, .registerWork(work(1))))?.code == .senderNotIdentity)
        h.commit([h.tx(Keys.registrar, revoke(Keys.photographer))])
        #expect(h.error(h.tx(Keys.photographer, .registerWork(work(1))))?.code == .senderIdentityRevoked)
        #expect(h.error(h.tx(Keys.photographer, .registerWorkBatch([work(1)])))?.code == .senderIdentityRevoked)
    }

    @Test func firstRegistrationWinsAndErrorNamesRegistrantAndHeight() {
        var h = chainWithIdentities()
        h.commit([h.tx(Keys.photographer, .registerWork(work(1)))])
        var again = work(1)
        again.title = "a different title, same content"
        let e = h.error(h.tx(Keys.photographer2, .registerWork(again)))
        #expect(e?.code == .workAlreadyRegistered)
        #expect(e?.message.contains(Keys.photographer.publicKey.hex) == true)
        #expect(e?.message.contains("height 4") == true)
        #expect(h.error(h.tx(Keys.photographer, .registerWork(work(1))))?.code == .workAlreadyRegistered)
    }

    @Test func secondRegistrationInTheSameBlockIsLeftOut() {
        var h = chainWithIdentities()
        let first = h.tx(Keys.photographer, .registerWork(work(1)))
        let second = h.tx(Keys.photographer2, .registerWork(work(1)))
        let built = h.commit([first, second], allowRejects: true)
        #expect(built.block.txs == [first])
        #expect(built.rejected.map(\.error.code) == [.workAlreadyRegistered])
        #expect(built.rejected.first?.candidateIndex == 1)
        #expect(h.state.work(work(1).contentHash)?.registrant == Keys.photographer.publicKey)
    }

    @Test func batchRegistersEveryItemWithItsIndex() throws {
        var h = chainWithIdentities()
        let t = h.tx(Keys.photographer, .registerWorkBatch([work(1), work(2), work(3)]))
        h.commit([t])
        for i in 0..<3 {
            let r = try #require(h.state.work(work(i + 1).contentHash))
            #expect(r.batchIndex == UInt32(i))
            #expect(r.txHash == t.hash)
            #expect(r.owner == Keys.photographer.publicKey)
        }
    }

    @Test func batchWithDuplicateInsideIsRejected() {
        let h = chainWithIdentities()
        let e = h.error(h.tx(Keys.photographer, .registerWorkBatch([work(1), work(2), work(1)])))
        #expect(e?.code == .batchDuplicateWork)
        #expect(e?.message.contains("items 0 and 2") == true)
    }

    @Test func batchIsAllOrNothing() {
        var h = chainWithIdentities()
        h.commit([h.tx(Keys.photographer2, .registerWork(work(3)))])
        let batch = h.tx(Keys.photographer, .registerWorkBatch([work(1), work(2), work(3), work(4)]))
        let e = h.error(batch)
        #expect(e?.code == .workAlreadyRegistered)
        #expect(e?.message.contains("item 2") == true)
        let before = h.state.tables
        let built = h.commit([batch], allowRejects: true)
        #expect(built.block.txs.isEmpty)
        #expect(h.state.work(work(1).contentHash) == nil)
        #expect(h.state.work(work(2).contentHash) == nil)
        #expect(h.state.lastNonce(Keys.photographer.publicKey) == 0)
        // Only the block-level bookkeeping could differ; no work or nonce was written.
        #expect(built.outcome.changes.isEmpty)
        #expect(h.state.tables == before)
    }
}

@Suite("State machine: transfers, licences, claims")
struct StateMachineWorkLifecycleTests {
    private func registered() -> Harness {
        var h = chainWithIdentities()
        h.commit([h.tx(Keys.photographer, .registerWork(work(1)))])
        return h
    }

    private func transfer(to key: SigningKey, _ n: Int = 1) -> Payload {
        .transferWork(TransferWork(contentHash: work(n).contentHash, newOwner: key.publicKey))
    }

    @Test func ownerTransfers() throws {
        var h = registered()
        let t = h.tx(Keys.photographer, transfer(to: Keys.agency))
        h.commit([t])
        let r = try #require(h.state.work(work(1).contentHash))
        #expect(r.owner == Keys.agency.publicKey)
        #expect(r.registrant == Keys.photographer.publicKey)
        #expect(r.ownerSinceHeight == 5)
        let old = StateKeys.workByOwner(owner: Keys.photographer.publicKey, sinceHeight: 4, contentHash: work(1).contentHash)
        let new = StateKeys.workByOwner(owner: Keys.agency.publicKey, sinceHeight: 5, contentHash: work(1).contentHash)
        #expect(h.state.get(.worksByOwner, old) == nil)
        #expect(h.state.get(.worksByOwner, new) == [])
        let record = h.state.get(.transfers, StateKeys.workEvent(contentHash: work(1).contentHash, height: 5, txIndex: 0))
        #expect(record.map { TransferRecord.decodeStored($0, .transfers) }
                == TransferRecord(from: Keys.photographer.publicKey, to: Keys.agency.publicKey, atMs: h.parent.timestampMs, txHash: t.hash))
        // The former owner no longer may; the new one may.
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.photographer2)))?.code == .notWorkOwner)
        #expect(h.error(h.tx(Keys.agency, transfer(to: Keys.photographer2))) == nil)
    }

    @Test func transferRejections() {
        var h = registered()
        #expect(h.error(h.tx(Keys.photographer2, transfer(to: Keys.agency)))?.code == .notWorkOwner)
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.agency, 9)))?.code == .workNotFound)
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.stranger)))?.code == .newOwnerNotIdentity)
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.photographer)))?.code == .transferToSelf)
        h.commit([h.tx(Keys.registrar, revoke(Keys.photographer2))])
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.photographer2)))?.code == .newOwnerRevoked)
        h.commit([h.tx(Keys.registrar, revoke(Keys.photographer))])
        #expect(h.error(h.tx(Keys.photographer, transfer(to: Keys.agency)))?.code == .senderIdentityRevoked)
    }

    @Test func ownerGrantsLicences() throws {
        var h = registered()
        let grant = GrantLicense(contentHash: work(1).contentHash, licensee: Keys.stranger.publicKey,
                                 terms: "Editorial use — EU only", validUntilMs: 0)
        var later = grant
        later.validUntilMs = h.timeMs + 10_000_000
        let t0 = h.tx(Keys.photographer, .grantLicense(grant))
        let t1 = h.tx(Keys.photographer, .grantLicense(later), ahead: 1)
        h.commit([t0, t1])
        let key = StateKeys.workEvent(contentHash: work(1).contentHash, height: 5, txIndex: 1)
        let r = try #require(h.state.get(.licences, key).map { LicenceRecord.decodeStored($0, .licences) })
        #expect(r == LicenceRecord(grantor: Keys.photographer.publicKey, licensee: Keys.stranger.publicKey,
                                   terms: later.terms, validUntilMs: later.validUntilMs, grantedAtMs: h.parent.timestampMs,
                                   txHash: t1.hash))
        #expect(h.state.get(.licences, StateKeys.workEvent(contentHash: work(1).contentHash, height: 5, txIndex: 0)) != nil)
    }

    @Test func licenceRejections() {
        let h = registered()
        func grant(_ n: Int = 1, until: UInt64) -> Payload {
            .grantLicense(GrantLicense(contentHash: work(n).contentHash, licensee: Keys.agency.publicKey, terms: "t",
                                       validUntilMs: until))
        }
        let blockTime = h.nextContext.timestampMs
        #expect(h.error(h.tx(Keys.photographer, grant(until: blockTime)))?.code == .licenseExpired)
        #expect(h.error(h.tx(Keys.photographer, grant(until: 1)))?.code == .licenseExpired)
        #expect(h.error(h.tx(Keys.photographer, grant(until: blockTime + 1))) == nil)
        #expect(h.error(h.tx(Keys.agency, grant(until: 0)))?.code == .notWorkOwner)
        #expect(h.error(h.tx(Keys.photographer, grant(7, until: 0)))?.code == .workNotFound)
    }

    private func claim(_ n: Int = 1) -> Payload {
        .fileClaim(FileClaim(contentHash: work(n).contentHash, infringingDigest: SHA256.hash([9]),
                             locator: "https://example.org/copy.jpg", note: "found without a licence"))
    }

    @Test func ownerAndAgenciesFileClaims() throws {
        var h = registered()
        let byAgency = h.tx(Keys.agency, claim())
        h.commit([h.tx(Keys.photographer, claim()), byAgency])
        let key = StateKeys.workEvent(contentHash: work(1).contentHash, height: 5, txIndex: 1)
        let r = try #require(h.state.get(.claims, key).map { ClaimRecord.decodeStored($0, .claims) })
        #expect(r.claimant == Keys.agency.publicKey)
        #expect(r.txHash == byAgency.hash)
        #expect(h.state.get(.claims, StateKeys.workEvent(contentHash: work(1).contentHash, height: 5, txIndex: 0)) != nil)
    }

    @Test func claimRejections() {
        var h = registered()
        #expect(h.error(h.tx(Keys.photographer2, claim()))?.code == .notOwnerOrAgency)
        #expect(h.error(h.tx(Keys.stranger, claim()))?.code == .senderNotIdentity)
        #expect(h.error(h.tx(Keys.agency, claim(5)))?.code == .workNotFound)
        h.commit([h.tx(Keys.registrar, revoke(Keys.agency))])
        #expect(h.error(h.tx(Keys.agency, claim()))?.code == .senderIdentityRevoked)
    }
}

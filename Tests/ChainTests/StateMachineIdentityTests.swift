import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

private func identity(_ key: SigningKey, name: String = "Zoë", role: IdentityRole = .photographer) -> Payload {
    .registerIdentity(RegisterIdentity(subject: key.publicKey, displayName: name, role: role,
                                       kycDigest: SHA256.hash(Array(name.utf8))))
}

@Suite("State machine: any tx")
struct StateMachineCommonTests {
    @Test func acceptsNextNonceAndRecordsIt() {
        var h = Harness()
        h.commit([h.tx(Keys.registrar, identity(Keys.photographer))])
        #expect(h.state.lastNonce(Keys.registrar.publicKey) == 1)
        h.commit([h.tx(Keys.registrar, identity(Keys.agency))])
        #expect(h.state.lastNonce(Keys.registrar.publicKey) == 2)
    }

    @Test(arguments: [0, 2, 7] as [UInt64])
    func rejectsOtherNonces(nonce: UInt64) {
        let h = Harness()
        let e = h.error(h.tx(Keys.registrar, identity(Keys.photographer), nonce: nonce))
        #expect(e?.code == .badNonce)
        #expect(e?.message.contains("expected 1") == true)
    }

    @Test func rejectsReplayedTx() {
        var h = Harness()
        let t = h.tx(Keys.registrar, identity(Keys.photographer))
        h.commit([t])
        #expect(h.error(t)?.code == .badNonce)
    }

    @Test func rejectsOtherChainId() {
        let h = Harness()
        #expect(h.error(h.tx(Keys.registrar, identity(Keys.photographer), chainId: "totem-other"))?.code == .wrongChainId)
    }

    @Test func rejectsTxOverMaxTxBytes() {
        let h = Harness(Harness.config(maxTxBytes: 300))
        let small = h.tx(Keys.registrar, identity(Keys.photographer))
        #expect(small.bytes.count <= 300)
        #expect(h.error(small) == nil)
        let big = h.tx(Keys.registrar, identity(Keys.photographer, name: String(repeating: "x", count: 128)))
        #expect(big.bytes.count > 300)
        #expect(h.error(big)?.code == .txTooLarge)
    }

    @Test func rejectsBadSignatureUnlessAlreadyVerified() {
        let h = Harness()
        let forged = Tx(chainId: "totem-test", sender: Keys.registrar.publicKey, nonce: 1, payload: identity(Keys.photographer))
            .signed(by: Keys.stranger, genesisHash: Harness.genesisHash)
        #expect(h.check(forged).failureValue?.code == .badSignature)
        #expect(h.check(forged, signature: .verifyUnlessIn([])).failureValue?.code == .badSignature)
        // The caller vouches for the signature: the state machine trusts it.
        #expect(h.check(forged, signature: .alreadyVerified).failureValue == nil)
        #expect(h.check(forged, signature: .verifyUnlessIn([forged.hash])).failureValue == nil)
        let otherChain = Tx(chainId: "totem-test", sender: Keys.registrar.publicKey, nonce: 1, payload: identity(Keys.photographer))
            .signed(by: Keys.registrar, genesisHash: SHA256.hash([1]))
        #expect(h.check(otherChain).failureValue?.code == .badSignature)
    }

    @Test func checkDoesNotTouchState() {
        let h = Harness()
        let before = h.state.tables
        guard case .success(let changes) = h.check(h.tx(Keys.registrar, identity(Keys.photographer))) else {
            Issue.record("should apply"); return
        }
        #expect(changes.count == 2)  // identity and nonce
        #expect(h.state.tables == before)
    }

    @Test func everyCodeIsSnakeCaseAndDistinct() {
        let codes = ChainErrorCode.allCases.map(\.rawValue)
        #expect(Set(codes).count == codes.count)
        for c in codes { #expect(c.allSatisfy { $0.isLowercase || $0 == "_" }, "\(c)") }
    }
}

@Suite("State machine: identities")
struct StateMachineIdentityTests {
    @Test func registrarRegistersIdentity() throws {
        var h = Harness()
        h.commit([h.tx(Keys.registrar, identity(Keys.photographer, name: "Zoë Łukasiewicz", role: .agency))])
        let r = try #require(h.state.identity(Keys.photographer.publicKey))
        #expect(r.displayName == "Zoë Łukasiewicz")
        #expect(r.role == .agency)
        #expect(r.registrar == Keys.registrar.publicKey)
        #expect(r.registeredAtHeight == 1)
        #expect(!r.revoked)
    }

    @Test func rootRegistrarMayRegisterIdentity() {
        var h = Harness()
        h.commit([h.tx(Keys.root, identity(Keys.photographer))])
        #expect(h.state.identity(Keys.photographer.publicKey)?.registrar == Keys.root.publicKey)
    }

    @Test func othersMayNotRegisterIdentity() {
        var h = Harness()
        #expect(h.error(h.tx(Keys.stranger, identity(Keys.photographer)))?.code == .notRegistrar)
        h.registerIdentity(Keys.agency, role: .agency)
        #expect(h.error(h.tx(Keys.agency, identity(Keys.photographer)))?.code == .notRegistrar)
    }

    @Test func identityIsRegisteredOnce() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        #expect(h.error(h.tx(Keys.registrar, identity(Keys.photographer)))?.code == .identityExists)
        #expect(h.error(h.tx(Keys.root, identity(Keys.photographer)))?.code == .identityExists)
    }

    @Test func revokedIdentityCannotBeRegisteredAgain() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.registrar, .revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: "r")))])
        #expect(h.error(h.tx(Keys.registrar, identity(Keys.photographer)))?.code == .identityExists)
    }

    @Test func itsRegistrarRevokes() throws {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.registrar, .revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: "on request")))])
        let r = try #require(h.state.identity(Keys.photographer.publicKey))
        #expect(r.revocation == .init(height: 2, by: Keys.registrar.publicKey, reason: "on request"))
    }

    @Test func rootRevokesAnyIdentity() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.root, .revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: "")))])
        #expect(h.state.identity(Keys.photographer.publicKey)?.revoked == true)
    }

    @Test func otherRegistrarsAndStrangersMayNotRevoke() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.root, .addRegistrar(AddRegistrar(subject: Keys.registrar2.publicKey, name: "B")))])
        let revoke = Payload.revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: ""))
        #expect(h.error(h.tx(Keys.registrar2, revoke))?.code == .notIdentityRegistrar)
        #expect(h.error(h.tx(Keys.stranger, revoke))?.code == .notIdentityRegistrar)
        #expect(h.error(h.tx(Keys.photographer, revoke))?.code == .notIdentityRegistrar)
    }

    @Test func removedRegistrarMayNotRevokeButRootMay() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.root, .removeRegistrar(subject: Keys.registrar.publicKey))])
        let revoke = Payload.revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: ""))
        #expect(h.error(h.tx(Keys.registrar, revoke))?.code == .notIdentityRegistrar)
        #expect(h.error(h.tx(Keys.root, revoke)) == nil)
    }

    @Test func revokeUnknownOrTwice() {
        var h = Harness()
        let revoke = Payload.revokeIdentity(RevokeIdentity(subject: Keys.photographer.publicKey, reason: ""))
        #expect(h.error(h.tx(Keys.registrar, revoke))?.code == .identityNotFound)
        h.registerIdentity(Keys.photographer)
        h.commit([h.tx(Keys.registrar, revoke)])
        #expect(h.error(h.tx(Keys.registrar, revoke))?.code == .identityAlreadyRevoked)
        #expect(h.error(h.tx(Keys.root, revoke))?.code == .identityAlreadyRevoked)
    }
}

@Suite("State machine: registrars")
struct StateMachineRegistrarTests {
    @Test func rootAddsRegistrarWhoThenRegisters() {
        var h = Harness()
        h.commit([h.tx(Keys.root, .addRegistrar(AddRegistrar(subject: Keys.registrar2.publicKey, name: "Registro — Ñandú")))])
        #expect(h.state.registrar(Keys.registrar2.publicKey) == RegistrarRecord(name: "Registro — Ñandú", addedAtHeight: 1))
        h.commit([h.tx(Keys.registrar2, identity(Keys.photographer))])
        #expect(h.state.identity(Keys.photographer.publicKey)?.registrar == Keys.registrar2.publicKey)
    }

    @Test func genesisRegistrarsAreRegistrars() {
        let h = Harness()
        #expect(h.state.registrar(Keys.registrar.publicKey) == RegistrarRecord(name: "Registrar A", addedAtHeight: 0))
    }

    @Test func onlyRootAddsOrRemoves() {
        let h = Harness()
        let add = Payload.addRegistrar(AddRegistrar(subject: Keys.registrar2.publicKey, name: "B"))
        #expect(h.error(h.tx(Keys.registrar, add))?.code == .notRootRegistrar)
        #expect(h.error(h.tx(Keys.stranger, add))?.code == .notRootRegistrar)
        let remove = Payload.removeRegistrar(subject: Keys.registrar.publicKey)
        #expect(h.error(h.tx(Keys.registrar, remove))?.code == .notRootRegistrar)
        #expect(h.error(h.tx(Keys.validators[0], remove))?.code == .notRootRegistrar)
    }

    @Test func addingAPresentRegistrarIsRejected() {
        let h = Harness()
        #expect(h.error(h.tx(Keys.root, .addRegistrar(AddRegistrar(subject: Keys.registrar.publicKey, name: "A"))))?.code
                == .registrarExists)
        #expect(h.error(h.tx(Keys.root, .addRegistrar(AddRegistrar(subject: Keys.root.publicKey, name: "root"))))?.code
                == .registrarExists)
    }

    @Test func removeThenRegistrarCannotRegister() {
        var h = Harness()
        h.commit([h.tx(Keys.root, .removeRegistrar(subject: Keys.registrar.publicKey))])
        #expect(h.state.registrar(Keys.registrar.publicKey) == nil)
        #expect(h.error(h.tx(Keys.registrar, identity(Keys.photographer)))?.code == .notRegistrar)
        #expect(h.error(h.tx(Keys.root, .removeRegistrar(subject: Keys.registrar.publicKey)))?.code == .registrarNotFound)
        // Re-appointing works.
        h.commit([h.tx(Keys.root, .addRegistrar(AddRegistrar(subject: Keys.registrar.publicKey, name: "A again")))])
        #expect(h.error(h.tx(Keys.registrar, identity(Keys.photographer))) == nil)
    }

    @Test func removingAnAbsentRegistrarIsRejected() {
        let h = Harness()
        #expect(h.error(h.tx(Keys.root, .removeRegistrar(subject: Keys.stranger.publicKey)))?.code == .registrarNotFound)
        #expect(h.error(h.tx(Keys.root, .removeRegistrar(subject: Keys.root.publicKey)))?.code == .registrarNotFound)
    }
}

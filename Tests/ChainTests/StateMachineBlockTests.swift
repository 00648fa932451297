import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

private func identityTx(_ h: Harness, _ subject: SigningKey, ahead: UInt64 = 0) -> SignedTx {
    h.tx(Keys.registrar, .registerIdentity(RegisterIdentity(subject: subject.publicKey, displayName: "n", role: .photographer,
                                                            kycDigest: .zero)), ahead: ahead)
}

/// Applies `block` to the harness's next height and returns the error code, if any.
private func code(_ h: Harness, _ block: Block, sm: StateMachine? = nil) -> ChainErrorCode? {
    (sm ?? h.sm).apply(block, parent: h.parent, state: h.state).failureValue?.code
}

private func tampered(_ block: Block, _ change: (inout Header) -> Void) -> Block {
    var header = block.header
    change(&header)
    return Block(header: header, txs: block.txs)
}

@Suite("State machine: block rules")
struct StateMachineBlockTests {
    private func chain() -> Harness {
        var h = Harness()
        h.commit([identityTx(h, Keys.photographer)])
        return h
    }

    @Test func validBlockApplies() {
        let h = chain()
        let b = h.block([identityTx(h, Keys.agency)])
        #expect(code(h, b) == nil)
        #expect(b.header.txCount == 1 && b.header.height == 2 && b.header.parentHash == h.parent.hash)
    }

    @Test func chainIdMustMatch() {
        let h = chain()
        #expect(code(h, tampered(h.block([])) { $0.chainId = "totem-other" }) == .blockChainId)
    }

    @Test(arguments: [0, 1, 3, 100] as [UInt64])
    func heightMustFollowParent(height: UInt64) {
        let h = chain()
        #expect(code(h, tampered(h.block([])) { $0.height = height }) == .blockHeight)
    }

    @Test func parentHashMustBeParents() {
        let h = chain()
        #expect(code(h, tampered(h.block([])) { $0.parentHash = h.parent.stateRoot }) == .blockParentHash)
        let fresh = Harness()
        #expect(code(fresh, fresh.block([])) == nil)
        #expect(fresh.block([]).header.parentHash == Harness.genesisHash)
    }

    @Test func timeMustIncrease() {
        let h = chain()
        let b = h.block([])
        #expect(code(h, tampered(b) { $0.timestampMs = h.parent.timestampMs }) == .blockTimestamp)
        #expect(code(h, tampered(b) { $0.timestampMs = h.parent.timestampMs - 1 }) == .blockTimestamp)
        // Strictly greater is enough (the header's stateRoot does not depend on the time here).
        #expect(code(h, tampered(b) { $0.timestampMs = h.parent.timestampMs + 1 }) == nil)
    }

    @Test func firstBlockMayHaveTheGenesisTime() {
        let h = Harness()
        let b = h.block([], timeMs: Harness.genesisTimeMs)
        #expect(b.header.timestampMs == Harness.genesisTimeMs)
        #expect(code(h, b) == nil)
        #expect(code(h, tampered(b) { $0.timestampMs = Harness.genesisTimeMs - 1 }) == .blockTimestamp)
    }

    @Test func builderRaisesTimeToTheEarliestValid() {
        let h = chain()
        let b = h.block([], timeMs: 5)
        #expect(b.header.timestampMs == h.parent.timestampMs + 1)
    }

    @Test func txCountMustMatch() {
        let h = chain()
        let b = h.block([identityTx(h, Keys.agency)])
        #expect(code(h, tampered(b) { $0.txCount = 2 }) == .blockTxCount)
        #expect(code(h, tampered(b) { $0.txCount = 0 }) == .blockTxCount)
    }

    @Test func txRootMustMatch() {
        let h = chain()
        let txs = [identityTx(h, Keys.agency), identityTx(h, Keys.photographer2, ahead: 1)]
        let b = h.block(txs)
        #expect(code(h, tampered(b) { $0.txRoot = SHA256.hash([UInt8]()) }) == .blockTxRoot)
        #expect(code(h, Block(header: b.header, txs: txs.reversed())) == .blockTxRoot)
        #expect(h.block([]).header.txRoot == SHA256.hash([UInt8]()))
    }

    @Test func txCountLimit() {
        let h = chain()
        let b = h.block([identityTx(h, Keys.agency), identityTx(h, Keys.photographer2, ahead: 1)])
        #expect(code(h, b, sm: StateMachine(config: Harness.config(maxBlockTxs: 2))) == nil)
        #expect(code(h, b, sm: StateMachine(config: Harness.config(maxBlockTxs: 1))) == .blockTooManyTxs)
    }

    @Test func byteLimitIsTheEncodedBlock() {
        let h = chain()
        let b = h.block([identityTx(h, Keys.agency), identityTx(h, Keys.photographer2, ahead: 1)])
        let size = b.encoded.count
        #expect(h.sm.blockBytes(txBytes: b.txs.reduce(0) { $0 + $1.bytes.count }, txCount: b.txs.count) == size)
        #expect(code(h, b, sm: StateMachine(config: Harness.config(maxBlockBytes: size))) == nil)
        #expect(code(h, b, sm: StateMachine(config: Harness.config(maxBlockBytes: size - 1))) == .blockTooLarge)
    }

    @Test func validatorHashesAndStateRootMustMatch() {
        let h = chain()
        let b = h.block([identityTx(h, Keys.agency)])
        let other = SHA256.hash([7])
        #expect(code(h, tampered(b) { $0.validatorSetHash = other }) == .blockValidatorSetHash)
        #expect(code(h, tampered(b) { $0.nextValidatorSetHash = other }) == .blockNextValidatorSetHash)
        #expect(code(h, tampered(b) { $0.stateRoot = other }) == .blockStateRoot)
        // The state root of another tx list is not this block's.
        #expect(code(h, tampered(b) { $0.stateRoot = h.block([]).header.stateRoot }) == .blockStateRoot)
    }

    @Test func everyTxMustApply() {
        let h = chain()
        let good = identityTx(h, Keys.agency)
        let bad = h.tx(Keys.stranger, .registerWork(work(1)))
        var header = h.block([good]).header
        header.txRoot = Block.txRoot([good, bad])
        header.txCount = 2
        let result = h.sm.apply(Block(header: header, txs: [good, bad]), parent: h.parent, state: h.state)
        let e = result.failureValue
        #expect(e?.code == .blockTxRejected)
        #expect(e?.txIndex == 1)
        #expect(e?.txError?.code == .senderNotIdentity)
    }

    @Test func unverifiedSignatureFailsTheBlock() {
        let h = chain()
        let forged = Tx(chainId: "totem-test", sender: Keys.registrar.publicKey, nonce: 2,
                        payload: .removeRegistrar(subject: Keys.registrar.publicKey)).signed(by: Keys.stranger, genesisHash: Harness.genesisHash)
        let b = h.sm.buildBlock(candidates: [forged], parent: h.parent, state: h.state, timestampMs: 0, view: 0,
                                proposer: .zero, signatures: .verify)
        #expect(b.rejected.map(\.error.code) == [.badSignature])
        let signed = h.block([identityTx(h, Keys.agency)])
        #expect(h.sm.apply(signed, parent: h.parent, state: h.state, signatures: .alreadyVerified).failureValue == nil)
    }

    @Test func parallelPreverificationStillRejectsForgedTxs() {
        let h = chain()
        let good = identityTx(h, Keys.agency)
        let signed = h.block([good])
        let check = SignatureCheck.verifiedInParallel(signed.txs, genesisHash: Harness.genesisHash)
        #expect(h.sm.apply(signed, parent: h.parent, state: h.state, signatures: check).failureValue == nil)
        let forged = Tx(chainId: "totem-test", sender: Keys.registrar.publicKey, nonce: 2,
                        payload: .removeRegistrar(subject: Keys.registrar.publicKey)).signed(by: Keys.stranger, genesisHash: Harness.genesisHash)
        var header = signed.header
        header.txRoot = Block.txRoot([forged])
        let bad = Block(header: header, txs: [forged])
        let e = h.sm.apply(bad, parent: h.parent, state: h.state,
                           signatures: .verifiedInParallel(bad.txs, genesisHash: Harness.genesisHash)).failureValue
        #expect(e?.txError?.code == .badSignature)
    }

    @Test func clockDrift() {
        let sm = Harness().sm  // maxClockDriftMs 2000
        let now: UInt64 = 1_764_000_100_000
        #expect(throws: Never.self) { try sm.checkClockDrift(timestampMs: now + 2000, nowMs: now) }
        #expect(throws: Never.self) { try sm.checkClockDrift(timestampMs: now - 2000, nowMs: now) }
        for ts in [now + 2001, now - 2001] {
            do {
                try sm.checkClockDrift(timestampMs: ts, nowMs: now)
                Issue.record("drift of \(ts) accepted")
            } catch {
                #expect(error.code == .blockClockDrift)
            }
        }
    }
}

@Suite("State machine: block builder")
struct StateMachineBuilderTests {
    @Test func keepsOrderSkipsFailuresAndReportsThem() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        let candidates = [
            h.tx(Keys.photographer, .registerWork(work(1))),
            h.tx(Keys.stranger, .registerWork(work(2))),                 // not an identity
            h.tx(Keys.photographer, .registerWork(work(1)), ahead: 1),   // already registered (by candidate 0)
            h.tx(Keys.photographer, .registerWork(work(3)), ahead: 1),   // nonce 2 is still next: applies
            h.tx(Keys.photographer, .registerWork(work(4)), ahead: 5),   // nonce gap
        ]
        let built = h.commit(candidates, allowRejects: true)
        #expect(built.block.txs == [candidates[0], candidates[3]])
        #expect(built.rejected.map(\.candidateIndex) == [1, 2, 4])
        #expect(built.rejected.map(\.error.code) == [.senderNotIdentity, .workAlreadyRegistered, .badNonce])
        #expect(built.rejected.map(\.txHash) == [candidates[1].hash, candidates[2].hash, candidates[4].hash])
        #expect(built.firstUntried == candidates.count)
        #expect(h.state.work(work(3).contentHash)?.txIndex == 1)
    }

    @Test func stopsAtMaxBlockTxs() {
        let h = Harness(Harness.config(maxBlockTxs: 2))
        let txs = (0..<4).map { identityTx(h, Keys.key("id\($0)"), ahead: UInt64($0)) }
        let built = h.sm.buildBlock(candidates: txs, parent: h.parent, state: h.state, timestampMs: 0, view: 0, proposer: .zero)
        #expect(built.block.txs == Array(txs.prefix(2)))
        #expect(built.firstUntried == 2)
        #expect(built.rejected.isEmpty)
    }

    @Test func stopsWhenTimeIsUpButAlwaysTakesTheFirstTx() {
        let h = Harness()
        let txs = (0..<5).map { identityTx(h, Keys.key("id\($0)"), ahead: UInt64($0)) }
        var asked = 0
        let built = h.sm.buildBlock(candidates: txs, parent: h.parent, state: h.state, timestampMs: 0, view: 0,
                                    proposer: .zero, timeIsUp: { asked += 1; return asked > 2 })
        #expect(built.block.txs == Array(txs.prefix(3)))
        #expect(built.firstUntried == 3)
        #expect(h.sm.apply(built.block, parent: h.parent, state: h.state).failureValue == nil)
        let lone = h.sm.buildBlock(candidates: txs, parent: h.parent, state: h.state, timestampMs: 0, view: 0,
                                   proposer: .zero, timeIsUp: { true })
        #expect(lone.block.txs == [txs[0]], "a block whose time is up at once still carries one tx")
    }

    @Test func stopsAtMaxBlockBytesAndRejectsWhatFitsNoBlock() {
        let probe = Harness()
        let tx0 = identityTx(probe, Keys.key("a"))
        let room = probe.sm.blockBytes(txBytes: 2 * tx0.bytes.count, txCount: 2)
        let h = Harness(Harness.config(maxBlockBytes: room))
        let txs = (0..<3).map { identityTx(h, Keys.key("id\($0)"), ahead: UInt64($0)) }
        #expect(Set(txs.map(\.bytes.count)).count == 1)
        let built = h.sm.buildBlock(candidates: txs, parent: h.parent, state: h.state, timestampMs: 0, view: 0, proposer: .zero)
        #expect(built.block.txs.count == 2)
        #expect(built.firstUntried == 2)
        #expect(h.sm.apply(built.block, parent: h.parent, state: h.state).failureValue == nil)

        let tiny = Harness(Harness.config(maxBlockBytes: probe.sm.blockBytes(txBytes: 0, txCount: 0) + 10))
        let lone = tiny.sm.buildBlock(candidates: [tx0], parent: tiny.parent, state: tiny.state, timestampMs: 0, view: 0, proposer: .zero)
        #expect(lone.block.txs.isEmpty)
        #expect(lone.rejected.map(\.error.code) == [.txTooLarge])
        #expect(lone.firstUntried == 1)
    }

    @Test func headerNamesTheProposerViewAndComputedFields() {
        let h = Harness()
        let built = h.sm.buildBlock(candidates: [identityTx(h, Keys.agency)], parent: h.parent, state: h.state,
                                    timestampMs: Harness.genesisTimeMs + 5, view: 3, proposer: Keys.validators[2].publicKey)
        let header = built.block.header
        #expect(header.view == 3 && header.proposer == Keys.validators[2].publicKey)
        #expect(header.stateRoot == StateRoot.next(parent: Harness.genesisHash, changesHash: built.outcome.changes.hash))
        #expect(header.txRoot == Block.txRoot(built.block.txs))
        #expect(header.validatorSetHash == Harness.config().validators.map(\.key).sortedSetHash)
    }
}

private extension Array where Element == Bytes32 {
    var sortedSetHash: Bytes32 { ValidatorSet.hash(sortedKeys: sorted()) }
}

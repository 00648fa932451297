import ChainModel
import Testing
import TotemCrypto
@testable import Consensus

/// The replica against the chain's own types: vote bodies, commit certificates, evidence payloads,
/// the message and signing-state codecs, and a replica deciding a real `Block`.
@Suite struct ChainIntegrationTests {
    let keys = TestKeys(count: 4)
    let genesis = TestKeys.genesisHash

    func block(height: UInt64, parent: Bytes32, proposer: Bytes32, view: UInt32 = 0) -> Block {
        let header = Header(chainId: "totem-test", height: height, view: view, timestampMs: 1_764_000_000_000 + height,
                            parentHash: parent, txRoot: Block.txRoot([]), txCount: 0, stateRoot: SHA256.hash([1]),
                            validatorSetHash: .zero, nextValidatorSetHash: .zero, proposer: proposer)
        return Block(header: header, txs: [])
    }

    func vote(_ phase: VotePhase, _ i: Int, h: UInt64, v: UInt32, _ hash: Bytes32) -> Vote {
        let s = Ed25519VoteSigner(key: keys.keys[i], genesisHash: genesis)
        return Vote(phase: phase, height: h, view: v, blockHash: hash, validator: s.publicKey,
                    signature: s.sign(phase.domain, body: SigningBody.vote(height: h, view: v, blockHash: hash)))
    }

    @Test func voteBodyIsTheProtocolBody() {
        let hash = SHA256.hash([7])
        #expect(SigningBody.vote(height: 0x0102_0304_0506_0708, view: 0x0A0B_0C0D, blockHash: hash)
                == VoteBody(height: 0x0102_0304_0506_0708, view: 0x0A0B_0C0D, blockHash: hash).encoded)
    }

    @Test func commitCertificateVerifiesWithTheChain() throws {
        let hash = SHA256.hash([9])
        let sigs = (0..<3).map { i in
            let v = vote(.commit, i, h: 5, v: 2, hash)
            return ValidatorSignature(validator: v.validator, signature: v.signature)
        }.sorted { $0.validator < $1.validator }
        let qc = QuorumCertificate(phase: .commit, height: 5, view: 2, blockHash: hash, signatures: sigs)
        guard let set = keys.set(["r0", "r1", "r2", "r3"]) else { throw TranscriptError("set") }
        #expect(qc.verify(against: set, Ed25519SignatureVerifier(genesisHash: genesis)))
        try qc.commitCertificate.verify(blockHash: hash, headerHeight: 5, headerView: 0, validators: set, genesisHash: genesis)
        #expect(QuorumCertificate(qc.commitCertificate, blockHash: hash) == qc)
        var short = qc
        short.signatures.removeLast()
        #expect(!short.verify(against: set, Ed25519SignatureVerifier(genesisHash: genesis)))
        #expect(throws: CertificateError.self) {
            try short.commitCertificate.verify(blockHash: hash, headerHeight: 5, headerView: 0, validators: set, genesisHash: genesis)
        }
    }

    @Test func evidenceBecomesASubmitEvidencePayload() throws {
        let a = vote(.prepare, 1, h: 3, v: 0, SHA256.hash([1]))
        let b = vote(.prepare, 1, h: 3, v: 0, SHA256.hash([2]))
        guard let e = Evidence(b, a) else { throw TranscriptError("no evidence") }
        #expect(e.blockHashA < e.blockHashB)
        var w = TCEWriter()
        Payload.submitEvidence(e.submitEvidence).encode(to: &w)
        var r = TCEReader(w.bytes)
        guard case let .submitEvidence(p) = try Payload.decode(kind: .submitEvidence, from: &r) else {
            throw TranscriptError("wrong payload")
        }
        #expect(p.blockHashA == e.blockHashA && p.signatureB == e.signatureB && p.validator == a.validator)
        #expect(Evidence(a, a) == nil)
    }

    @Test func messagesRoundTrip() throws {
        let pk = keys.keys[1].publicKey
        let b = block(height: 2, parent: genesis, proposer: pk)
        let prepare = vote(.prepare, 1, h: 2, v: 0, b.hash)
        let lockSigs = (0..<3).map { vote(.prepare, $0, h: 2, v: 0, b.hash) }
            .map { ValidatorSignature(validator: $0.validator, signature: $0.signature) }.sorted { $0.validator < $1.validator }
        let lock = QuorumCertificate(phase: .prepare, height: 2, view: 0, blockHash: b.hash, signatures: lockSigs)
        let vc = ViewChange(height: 2, view: 1, lock: lock, validator: pk, signature: Bytes64(high: b.hash, low: .zero))
        let messages: [Message<Block>] = [
            .proposal(Proposal(block: b, vote: prepare)), .vote(prepare), .viewChange(vc, lockedBlock: b),
            .viewChange(vc, lockedBlock: nil),
            .newView(NewView(viewChanges: [vc, vc], proposal: Proposal(block: b, vote: prepare), signature: prepare.signature)),
            .certificate(lock),
        ]
        for m in messages {
            let bytes = ConsensusCodec.encode(m)
            let back = try ConsensusCodec.decodeMessage(bytes, maxBlockTxs: 10)
            #expect(ConsensusCodec.encode(back) == bytes)
            #expect(back.height == 2)
            #expect(throws: DecodeError.self) { try ConsensusCodec.decodeMessage(bytes + [0], maxBlockTxs: 10) }
            #expect(throws: DecodeError.self) { try ConsensusCodec.decodeMessage(Array(bytes.dropLast()), maxBlockTxs: 10) }
        }
        #expect(throws: DecodeError.self) { try ConsensusCodec.decodeMessage([9], maxBlockTxs: 10) }
    }

    @Test func signingStateRoundTrips() throws {
        let b = block(height: 4, parent: genesis, proposer: keys.keys[0].publicKey)
        let sigs = (0..<3).map { vote(.prepare, $0, h: 4, v: 1, b.hash) }
            .map { ValidatorSignature(validator: $0.validator, signature: $0.signature) }.sorted { $0.validator < $1.validator }
        let cert = QuorumCertificate(phase: .prepare, height: 4, view: 1, blockHash: b.hash, signatures: sigs)
        let states = [
            SigningState<Block>(height: 4),
            SigningState<Block>(height: 4, view: 3, prepare: SignedSlot(view: 1, blockHash: b.hash),
                                commit: SignedSlot(view: 1, blockHash: b.hash), lock: Lock(certificate: cert, block: b)),
        ]
        for s in states {
            let bytes = ConsensusCodec.encode(s)
            let back = try ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: 10)
            #expect(ConsensusCodec.encode(back) == bytes)
            #expect(back.view == s.view && back.lock?.block.hash == s.lock?.block.hash)
            #expect(throws: DecodeError.self) { try ConsensusCodec.decodeSigningState(bytes + [0], maxBlockTxs: 10) }
        }
        #expect(throws: DecodeError.self) { try ConsensusCodec.decodeSigningState([2], maxBlockTxs: 10) }
    }

    /// A single validator (q = 1) decides the chain's Block through the whole path.
    @Test func singleValidatorDecidesAChainBlock() throws {
        guard let set = keys.set(["r0"]) else { throw TranscriptError("set") }
        let signer = Ed25519VoteSigner(key: keys.keys[0], genesisHash: genesis)
        var r = Replica<Block>(config: ReplicaConfig(proposalTimeoutMs: 1000, maxProposalTimeoutMs: 8000, emptyBlockIntervalMs: 5000),
                               signer: signer, verifier: Ed25519SignatureVerifier(genesisHash: genesis),
                               position: ChainPosition(height: 1, parentHash: genesis, parentCertificate: nil,
                                                       validators: set, nextValidators: set))
        _ = r.step(.start)
        let asked = r.step(.workPending)
        #expect(asked.contains { if case .requestProposal(1, 0, _) = $0 { true } else { false } })
        let b = block(height: 1, parent: genesis, proposer: signer.publicKey)
        let actions = r.step(.proposalBuilt(b, view: 0))
        guard case let .commit(decided, cert)? = actions.last else { throw TranscriptError("not decided: \(actions)") }
        #expect(decided.hash == b.hash)
        try cert.commitCertificate.verify(blockHash: b.hash, headerHeight: 1, headerView: 0, validators: set, genesisHash: genesis)
        // Persisted before the proposal left: the first action is the signing state.
        guard case let .persistSigningState(s)? = actions.first else { throw TranscriptError("no persist first") }
        #expect(s.prepare == SignedSlot(view: 0, blockHash: b.hash))
    }
}

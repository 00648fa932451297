import ChainModel
import TotemCrypto

/// TCE encodings of consensus messages (for P2P) and of the signing state (for LMDB), for the
/// chain's `Block`. Layouts are documented in docs/consensus.md. Decoding rejects trailing bytes,
/// unknown tags, counts and lengths beyond the limits, like every TCE decoder.
public enum ConsensusCodec {
    static let signingStateVersion: UInt8 = 1

    enum MessageTag: UInt8 {
        case proposal = 1, vote = 2, viewChange = 3, newView = 4, certificate = 5
    }

    public static func encode(_ m: Message<Block>) -> [UInt8] {
        var w = TCEWriter()
        switch m {
        case let .proposal(p): w.u8(MessageTag.proposal.rawValue); write(p, &w)
        case let .vote(v): w.u8(MessageTag.vote.rawValue); write(v, &w)
        case let .viewChange(vc, block):
            w.u8(MessageTag.viewChange.rawValue); write(vc, &w)
            w.optional(block) { $0.varBytes($1.encoded) }
        case let .newView(nv):
            w.u8(MessageTag.newView.rawValue)
            w.list(nv.viewChanges) { write($1, &$0) }
            write(nv.proposal, &w)
            w.bytes64(nv.signature)
        case let .certificate(c): w.u8(MessageTag.certificate.rawValue); write(c, &w)
        }
        return w.bytes
    }

    /// `maxBlockTxs` is genesis `maxBlockTxs`.
    public static func decodeMessage(_ bytes: [UInt8], maxBlockTxs: Int) throws(DecodeError) -> Message<Block> {
        var r = TCEReader(bytes)
        guard let tag = MessageTag(rawValue: try r.u8("tag")) else { throw DecodeError(.enum, field: "tag") }
        let m: Message<Block>
        switch tag {
        case .proposal: m = .proposal(try readProposal(&r, maxBlockTxs))
        case .vote: m = .vote(try readVote(&r))
        case .viewChange:
            let vc = try readViewChange(&r)
            let block = try r.optional("lockedBlock") { (r: inout TCEReader) throws(DecodeError) in
                try readBlock(&r, maxBlockTxs, "lockedBlock")
            }
            m = .viewChange(vc, lockedBlock: block)
        case .newView:
            let vcs = try r.list(counts: 0...ConsensusLimits.validatorsMax, "viewChanges") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try readViewChange(&r)
            }
            let p = try readProposal(&r, maxBlockTxs)
            m = .newView(NewView(viewChanges: vcs, proposal: p, signature: try r.bytes64("signature")))
        case .certificate: m = .certificate(try readCertificate(&r))
        }
        try r.finish()
        return m
    }

    /// `version:u8 (=1) | height:u64 | view:u32 | optional<slot> prepare | optional<slot> commit
    /// | optional<certificate | bytes block> lock`, slot = `view:u32 | blockHash:bytes32`.
    public static func encode(_ s: SigningState<Block>) -> [UInt8] {
        var w = TCEWriter()
        w.u8(signingStateVersion)
        w.u64(s.height)
        w.u32(s.view)
        for slot in [s.prepare, s.commit] {
            w.optional(slot) { $0.u32($1.view); $0.bytes32($1.blockHash) }
        }
        w.optional(s.lock) { w, lock in
            write(lock.certificate, &w)
            w.varBytes(lock.block.encoded)
        }
        return w.bytes
    }

    public static func decodeSigningState(_ bytes: [UInt8], maxBlockTxs: Int) throws(DecodeError) -> SigningState<Block> {
        var r = TCEReader(bytes)
        guard try r.u8("version") == signingStateVersion else { throw DecodeError(.enum, field: "version") }
        let height = try r.u64("height")
        let view = try r.u32("view")
        let readSlot = { (r: inout TCEReader) throws(DecodeError) -> SignedSlot in
            SignedSlot(view: try r.u32("slot.view"), blockHash: try r.bytes32("slot.blockHash"))
        }
        let prepare = try r.optional("prepare", readSlot)
        let commit = try r.optional("commit", readSlot)
        let lock = try r.optional("lock") { (r: inout TCEReader) throws(DecodeError) -> Lock<Block> in
            let cert = try readCertificate(&r)
            let block = try readBlock(&r, maxBlockTxs, "lock.block")
            guard cert.phase == .prepare, cert.blockHash == block.hash else { throw DecodeError(.enum, field: "lock") }
            return Lock(certificate: cert, block: block)
        }
        try r.finish()
        return SigningState(height: height, view: view, prepare: prepare, commit: commit, lock: lock)
    }

    // MARK: parts

    static func write(_ v: Vote, _ w: inout TCEWriter) {
        w.u8(v.phase.rawValue); w.u64(v.height); w.u32(v.view); w.bytes32(v.blockHash)
        w.bytes32(v.validator); w.bytes64(v.signature)
    }

    static func write(_ c: QuorumCertificate, _ w: inout TCEWriter) {
        w.u8(c.phase.rawValue); w.u64(c.height); w.u32(c.view); w.bytes32(c.blockHash)
        w.list(c.signatures) { $0.bytes32($1.validator); $0.bytes64($1.signature) }
    }

    static func write(_ vc: ViewChange, _ w: inout TCEWriter) {
        w.u64(vc.height); w.u32(vc.view)
        w.optional(vc.lock) { write($1, &$0) }
        w.bytes32(vc.validator); w.bytes64(vc.signature)
    }

    static func write(_ p: Proposal<Block>, _ w: inout TCEWriter) {
        w.varBytes(p.block.encoded)
        write(p.vote, &w)
    }

    static func readPhase(_ r: inout TCEReader, _ field: String) throws(DecodeError) -> VotePhase {
        guard let p = VotePhase(rawValue: try r.u8(field)) else { throw DecodeError(.enum, field: field) }
        return p
    }

    static func readVote(_ r: inout TCEReader) throws(DecodeError) -> Vote {
        let phase = try readPhase(&r, "vote.phase")
        return Vote(phase: phase, height: try r.u64("vote.height"), view: try r.u32("vote.view"),
                    blockHash: try r.bytes32("vote.blockHash"), validator: try r.bytes32("vote.validator"),
                    signature: try r.bytes64("vote.signature"))
    }

    static func readCertificate(_ r: inout TCEReader) throws(DecodeError) -> QuorumCertificate {
        let phase = try readPhase(&r, "certificate.phase")
        let height = try r.u64("certificate.height")
        let view = try r.u32("certificate.view")
        let hash = try r.bytes32("certificate.blockHash")
        let sigs = try r.list(counts: 0...ConsensusLimits.validatorsMax, "certificate.signatures") {
            (r: inout TCEReader, _: Int) throws(DecodeError) in
            ValidatorSignature(validator: try r.bytes32("certificate.validator"),
                               signature: try r.bytes64("certificate.signature"))
        }
        return QuorumCertificate(phase: phase, height: height, view: view, blockHash: hash, signatures: sigs)
    }

    static func readViewChange(_ r: inout TCEReader) throws(DecodeError) -> ViewChange {
        let height = try r.u64("viewChange.height")
        let view = try r.u32("viewChange.view")
        let lock = try r.optional("viewChange.lock") { (r: inout TCEReader) throws(DecodeError) in
            try readCertificate(&r)
        }
        return ViewChange(height: height, view: view, lock: lock, validator: try r.bytes32("viewChange.validator"),
                          signature: try r.bytes64("viewChange.signature"))
    }

    static func readProposal(_ r: inout TCEReader, _ maxTxs: Int) throws(DecodeError) -> Proposal<Block> {
        let block = try readBlock(&r, maxTxs, "proposal.block")
        return Proposal(block: block, vote: try readVote(&r))
    }

    static func readBlock(_ r: inout TCEReader, _ maxTxs: Int, _ field: String) throws(DecodeError) -> Block {
        try Block.decode(try r.varBytes(maxBytes: ConsensusLimits.encodedBlockMaxBytes, field), maxTxs: maxTxs)
    }
}

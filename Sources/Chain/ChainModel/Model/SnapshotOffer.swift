import TotemCrypto

/// One validator's signature on a checkpoint, as validators gossip it:
/// `Checkpoint | validator:bytes32 | signature:bytes64`.
public struct CheckpointVote: Sendable, Hashable, TCEEncodable {
    public var checkpoint: Checkpoint
    public var signature: ValidatorSignature

    public init(checkpoint: Checkpoint, signature: ValidatorSignature) {
        self.checkpoint = checkpoint; self.signature = signature
    }

    public func encode(to w: inout TCEWriter) {
        checkpoint.encode(to: &w)
        w.bytes32(signature.validator)
        w.bytes64(signature.signature)
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> CheckpointVote {
        var r = TCEReader(bytes)
        let vote = CheckpointVote(checkpoint: try Checkpoint.decode(from: &r),
                                  signature: ValidatorSignature(validator: try r.bytes32("validator"),
                                                                signature: try r.bytes64("signature")))
        try r.finish()
        return vote
    }
}

/// A validator-set change as a state-syncing node checks it: the header of height `fromHeight - 1`
/// (the last one signed by the old set; its `nextValidatorSetHash` names the new set), its commit
/// certificate, and the new set's keys. `Header | CommitCertificate | keys:list<bytes32>`.
public struct SetChangeProof: Sendable, Equatable, TCEEncodable {
    public var header: Header
    public var commit: CommitCertificate
    public var keys: [Bytes32]

    public init(header: Header, commit: CommitCertificate, keys: [Bytes32]) {
        self.header = header; self.commit = commit; self.keys = keys
    }

    public func encode(to w: inout TCEWriter) {
        header.encode(to: &w)
        commit.encode(to: &w)
        w.list(keys) { $0.bytes32($1) }
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> SetChangeProof {
        SetChangeProof(header: try Header.decode(from: &r), commit: try CommitCertificate.decode(from: &r),
                       keys: try r.list(counts: 1...Limits.validatorsMaxCount, "keys") {
                           (r: inout TCEReader, _: Int) throws(DecodeError) in try r.bytes32("keys")
                       })
    }
}

/// Why a snapshot offer was refused: the code names the check (a state-syncing node logs it and
/// drops the peer that sent it).
public struct SnapshotOfferError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case offerSetChain = "offer_set_chain"
        case offerCheckpoint = "offer_checkpoint"
        case offerHeader = "offer_header"
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
}

/// What a node offers a state-syncing peer: its newest checkpoint certificate, and what lets the
/// peer check it from the genesis file alone. `CheckpointCertificate | header:Header |
/// commit:CommitCertificate | setChanges:list<SetChangeProof> | recentHeaders:list<Header>`: the
/// header of the checkpoint's block with its commit certificate (its `stateRoot` is what block
/// H + 1 chains from), every validator-set change that took force at or below H + 1, oldest
/// first, and the headers just below H, oldest first, chained by their parent hashes to header H
/// (the leader rotation reads the proposers of recent heights: `LeaderRotation.neededHeights`).
public struct SnapshotOffer: Sendable, Equatable, TCEEncodable {
    public var certificate: CheckpointCertificate
    public var header: Header
    public var commit: CommitCertificate
    public var setChanges: [SetChangeProof]
    public var recentHeaders: [Header]

    public init(certificate: CheckpointCertificate, header: Header, commit: CommitCertificate, setChanges: [SetChangeProof],
                recentHeaders: [Header]) {
        self.certificate = certificate; self.header = header; self.commit = commit; self.setChanges = setChanges
        self.recentHeaders = recentHeaders
    }

    public var checkpoint: Checkpoint { certificate.checkpoint }

    public func encode(to w: inout TCEWriter) {
        certificate.encode(to: &w)
        header.encode(to: &w)
        commit.encode(to: &w)
        w.list(setChanges) { w, c in c.encode(to: &w) }
        w.list(recentHeaders) { w, h in h.encode(to: &w) }
    }

    /// Set changes in one offer at most (a set change needs a validator vote; far more than a chain sees).
    public static let setChangesMax = 4096
    /// Recent headers in one offer at most (the rotation's window for the largest set).
    public static let recentHeadersMax = 16_384

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> SnapshotOffer {
        var r = TCEReader(bytes)
        let offer = SnapshotOffer(
            certificate: try CheckpointCertificate.decode(from: &r), header: try Header.decode(from: &r),
            commit: try CommitCertificate.decode(from: &r),
            setChanges: try r.list(counts: 0...setChangesMax, "setChanges") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try SetChangeProof.decode(from: &r)
            },
            recentHeaders: try r.list(counts: 0...recentHeadersMax, "recentHeaders") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try Header.decode(from: &r)
            })
        try r.finish()
        return offer
    }

    /// Checks the offer from the genesis alone (docs/state-sync.md): (1) the set chain, each change
    /// certified by the set before it, its header naming the next set; (2) the checkpoint
    /// certificate against the set in force at H; (3) header H, whose hash the checkpoint names,
    /// with its commit certificate. Returns the validator set in force at H + 1, which the node
    /// needs to check the next block (the set the header's `nextValidatorSetHash` names: the last
    /// change may take force at H + 1, and then it is in the list).
    public func verify(chainId: String, genesisSet: ValidatorSet, genesisHash: Bytes32) throws(SnapshotOfferError)
        -> (atHeight: ValidatorSet, atNext: ValidatorSet) {
        let height = checkpoint.height
        var set = genesisSet
        var sets: [(fromHeight: UInt64, set: ValidatorSet)] = [(1, genesisSet)]
        for change in setChanges {
            let h = change.header.height
            guard change.header.chainId.utf8.elementsEqual(chainId.utf8), h + 1 > sets[sets.count - 1].fromHeight,
                  h + 1 <= height + 1 else {
                throw SnapshotOfferError(.offerSetChain, "set change at header \(h) is out of order or beyond \(height + 1)")
            }
            guard change.header.validatorSetHash == set.hash else {
                throw SnapshotOfferError(.offerSetChain, "header \(h) is not signed by the set in force before it")
            }
            do {
                try change.commit.verify(blockHash: change.header.hash, headerHeight: h, headerView: change.header.view,
                                         validators: set, genesisHash: genesisHash)
            } catch {
                throw SnapshotOfferError(.offerSetChain, "commit of header \(h): \(error)")
            }
            guard let next = ValidatorSet(change.keys), next.hash == change.header.nextValidatorSetHash else {
                throw SnapshotOfferError(.offerSetChain, "the keys of the set from \(h + 1) are not the set header \(h) names")
            }
            set = next
            sets.append((h + 1, next))
        }
        let atNext = set
        let atHeight = sets.last { $0.fromHeight <= height }?.set ?? genesisSet
        do {
            try certificate.verify(chainId: chainId, validators: atHeight, genesisHash: genesisHash)
        } catch {
            throw SnapshotOfferError(.offerCheckpoint, "\(error)")
        }
        guard header.chainId.utf8.elementsEqual(chainId.utf8), header.height == height, header.hash == checkpoint.blockHash else {
            throw SnapshotOfferError(.offerHeader, "the header is not block \(height) \(checkpoint.blockHash) of the checkpoint")
        }
        guard header.validatorSetHash == atHeight.hash, header.nextValidatorSetHash == atNext.hash else {
            throw SnapshotOfferError(.offerHeader, "header \(height) names other validator sets than the offer's chain")
        }
        do {
            try commit.verify(blockHash: header.hash, headerHeight: height, headerView: header.view, validators: atHeight,
                              genesisHash: genesisHash)
        } catch {
            throw SnapshotOfferError(.offerHeader, "commit of header \(height): \(error)")
        }
        var child = header
        for recent in recentHeaders.reversed() {
            guard recent.hash == child.parentHash, recent.height + 1 == child.height else {
                throw SnapshotOfferError(.offerHeader, "recent header \(recent.height) is not the parent of header \(child.height)")
            }
            child = recent
        }
        return (atHeight, atNext)
    }
}

/// A chunk as it travels: `proof:list<bytes32> | chunk:bytes` (empty payload: not held).
public struct ChunkPayload: Sendable, Hashable, TCEEncodable {
    public var proof: [Bytes32]
    public var chunk: [UInt8]

    public init(proof: [Bytes32], chunk: [UInt8]) { self.proof = proof; self.chunk = chunk }

    public func encode(to w: inout TCEWriter) {
        w.list(proof) { $0.bytes32($1) }
        w.varBytes(chunk)
    }

    public static func decode(_ bytes: [UInt8], maxChunkBytes: Int) throws(DecodeError) -> ChunkPayload {
        var r = TCEReader(bytes)
        let payload = ChunkPayload(
            proof: try r.list(counts: 0...64, "proof") { (r: inout TCEReader, _: Int) throws(DecodeError) in try r.bytes32("proof") },
            chunk: try r.varBytes(maxBytes: maxChunkBytes, "chunk"))
        try r.finish()
        return payload
    }
}

import TotemCrypto

/// What the validators co-sign at a checkpoint height (PROTOCOL.md "Checkpoints"):
/// `chainId:string | height:u64 | blockHash:bytes32 | snapshotRoot:bytes32 | chunkCount:u32`,
/// signed in the `totem/checkpoint/v1` domain. `stateRoot` chains the history of changes and
/// cannot be recomputed from a set of records, so a snapshot of the state needs this commitment of
/// its own: `snapshotRoot` is the RFC 6962 root over the encodings of its `chunkCount` chunks.
public struct Checkpoint: Sendable, Hashable, TCEEncodable {
    public var chainId: String
    public var height: UInt64
    /// The hash of the block at `height`, whose state the snapshot is.
    public var blockHash: Bytes32
    public var snapshotRoot: Bytes32
    public var chunkCount: UInt32

    public init(chainId: String, height: UInt64, blockHash: Bytes32, snapshotRoot: Bytes32, chunkCount: UInt32) {
        self.chainId = chainId; self.height = height; self.blockHash = blockHash
        self.snapshotRoot = snapshotRoot; self.chunkCount = chunkCount
    }

    public func encode(to w: inout TCEWriter) {
        w.string(chainId)
        w.u64(height)
        w.bytes32(blockHash)
        w.bytes32(snapshotRoot)
        w.u32(chunkCount)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> Checkpoint {
        let checkpoint = Checkpoint(chainId: try r.string(maxBytes: Limits.chainIdMaxBytes, "chainId"),
                                    height: try r.u64("height"), blockHash: try r.bytes32("blockHash"),
                                    snapshotRoot: try r.bytes32("snapshotRoot"), chunkCount: try r.u32("chunkCount"))
        // A snapshot always holds the validator set, so it has at least one chunk.
        guard checkpoint.chunkCount >= 1 else { throw DecodeError(.limit, field: "chunkCount") }
        return checkpoint
    }

    public func sign(key: SigningKey, genesisHash: Bytes32) -> Bytes64 {
        key.sign(.checkpoint, genesisHash: genesisHash, body: encoded)
    }

    public func verify(signature: Bytes64, validator: Bytes32, genesisHash: Bytes32) -> Bool {
        Ed25519.verify(signature, .checkpoint, genesisHash: genesisHash, body: encoded, publicKey: validator)
    }

    /// Checks that `chunk` is the chunk at `index` of this checkpoint's snapshot, by its audit path
    /// to `snapshotRoot`. A chunk is checked alone, as it arrives, whatever peer sent it.
    public func checkChunk(_ chunk: [UInt8], index: UInt32, proof: [Bytes32]) throws(MerkleError) {
        try Merkle.checkInclusion(leafHash: Merkle.leafHash(chunk), index: UInt64(index), treeSize: UInt64(chunkCount),
                                  proof: proof, root: snapshotRoot)
    }
}

/// Why a checkpoint certificate was refused.
public struct CheckpointError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case checkpointNonMember = "checkpoint_non_member"
        case checkpointDuplicateSigner = "checkpoint_duplicate_signer"
        case checkpointBadSignature = "checkpoint_bad_signature"
        case checkpointBelowQuorum = "checkpoint_below_quorum"
        case checkpointWrongChain = "checkpoint_wrong_chain"
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
}

/// A checkpoint with the signatures of at least q distinct validators of the set in force at its
/// height (the quorum rule of a commit certificate): `Checkpoint | signatures:list<(validator:bytes32,
/// signature:bytes64)>`.
public struct CheckpointCertificate: Sendable, Hashable, TCEEncodable {
    public var checkpoint: Checkpoint
    public var signatures: [ValidatorSignature]

    public init(checkpoint: Checkpoint, signatures: [ValidatorSignature]) {
        self.checkpoint = checkpoint; self.signatures = signatures
    }

    /// Checks every entry (a distinct member of `validators`, the set in force at the checkpoint's
    /// height, with a valid signature) and the quorum; `chainId` must be the chain's.
    public func verify(chainId: String, validators: ValidatorSet, genesisHash: Bytes32) throws(CheckpointError) {
        guard checkpoint.chainId.utf8.elementsEqual(chainId.utf8) else {
            throw CheckpointError(.checkpointWrongChain, "checkpoint of chain \(checkpoint.chainId), not \(chainId)")
        }
        let checkpoint = checkpoint
        let failure = ValidatorSignature.quorumFailure(signatures, of: validators) {
            checkpoint.verify(signature: $0.signature, validator: $0.validator, genesisHash: genesisHash)
        }
        switch failure {
        case nil: return
        case .nonMember(let key): throw CheckpointError(.checkpointNonMember, "signer \(key) is not in the validator set "
                                                        + "in force at height \(checkpoint.height)")
        case .duplicate(let key): throw CheckpointError(.checkpointDuplicateSigner, "signer \(key) is listed twice")
        case .badSignature(let key): throw CheckpointError(.checkpointBadSignature, "signature of \(key) does not verify")
        case .belowQuorum: throw CheckpointError(.checkpointBelowQuorum,
                                                 "\(signatures.count) signatures, quorum is \(validators.quorum)")
        }
    }

    public func encode(to w: inout TCEWriter) {
        checkpoint.encode(to: &w)
        ValidatorSignature.encode(signatures, to: &w)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> CheckpointCertificate {
        CheckpointCertificate(checkpoint: try Checkpoint.decode(from: &r), signatures: try ValidatorSignature.decodeList(from: &r))
    }
}

extension CheckpointCertificate {
    /// Decodes one certificate with nothing after it.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> CheckpointCertificate {
        var r = TCEReader(bytes)
        let certificate = try decode(from: &r)
        try r.finish()
        return certificate
    }
}

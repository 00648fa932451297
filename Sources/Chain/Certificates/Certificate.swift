import ChainModel
import TotemCrypto

/// A registration certificate (`totem-certificate/1`, PROTOCOL.md "Registration certificate"):
/// everything a court needs to check, offline and with only the genesis file, that validator sets
/// certified from genesis committed a transaction at a time. Binary fields hold the exact bytes
/// the document carries; `CertificateVerifier` decides whether they prove anything.
public struct Certificate: Sendable, Equatable {
    public var chainId: String
    public var genesisHash: Bytes32
    /// The encoded SignedTx.
    public var tx: [UInt8]
    public var txHash: Bytes32
    public var leafIndex: UInt64
    public var treeSize: UInt64
    /// RFC 6962 audit path of `tx` in the block's tx tree, leaf level first.
    public var inclusionProof: [Bytes32]
    /// The encoded block header.
    public var header: [UInt8]
    public var blockHash: Bytes32
    public var commit: CommitCertificate
    /// The validator-set history up to the block, oldest (genesis) first.
    public var validatorSets: [CertificateValidatorSet]
    /// Present for RegisterWork and RegisterWorkBatch transactions only.
    public var work: CertificateWork?

    public init(chainId: String, genesisHash: Bytes32, tx: [UInt8], txHash: Bytes32, leafIndex: UInt64,
                treeSize: UInt64, inclusionProof: [Bytes32], header: [UInt8], blockHash: Bytes32,
                commit: CommitCertificate, validatorSets: [CertificateValidatorSet], work: CertificateWork?) {
        self.chainId = chainId; self.genesisHash = genesisHash; self.tx = tx; self.txHash = txHash
        self.leafIndex = leafIndex; self.treeSize = treeSize; self.inclusionProof = inclusionProof
        self.header = header; self.blockHash = blockHash; self.commit = commit
        self.validatorSets = validatorSets; self.work = work
    }

    /// Equal when the JSON documents are equal (strings compare as bytes).
    public static func == (a: Certificate, b: Certificate) -> Bool { a.jsonValue == b.jsonValue }
}

/// One entry of a certificate's validator-set history: the set in force from `fromHeight`.
public struct CertificateValidatorSet: Sendable {
    public var fromHeight: UInt64
    /// The keys as listed (the genesis entry in any order; later entries sorted ascending).
    public var validators: [Bytes32]
    /// The header of height `fromHeight - 1` and its commit; absent on the genesis entry.
    public var certifiedBy: CertifyingBlock?

    public init(fromHeight: UInt64, validators: [Bytes32], certifiedBy: CertifyingBlock?) {
        self.fromHeight = fromHeight; self.validators = validators; self.certifiedBy = certifiedBy
    }
}

/// The header that names a new validator set in `nextValidatorSetHash`, with its commit.
public struct CertifyingBlock: Sendable {
    /// The encoded header.
    public var header: [UInt8]
    public var commit: CommitCertificate

    public init(header: [UInt8], commit: CommitCertificate) { self.header = header; self.commit = commit }
}

/// What a certificate states about a registered work, checked against the tx's Work.
public struct CertificateWork: Sendable {
    public var contentHash: Bytes32
    /// The identity that registered the work (the tx's sender), whoever owns it now.
    public var registrant: Bytes32
    public var title: String
    /// The block's `timestampMs`.
    public var registeredAtMs: UInt64
    /// The item's position in a RegisterWorkBatch; nil for RegisterWork.
    public var batchIndex: UInt64?

    public init(contentHash: Bytes32, registrant: Bytes32, title: String, registeredAtMs: UInt64, batchIndex: UInt64?) {
        self.contentHash = contentHash; self.registrant = registrant; self.title = title
        self.registeredAtMs = registeredAtMs; self.batchIndex = batchIndex
    }
}

import ChainModel
import TotemCrypto

/// A validator set as the node records it: in force from `fromHeight`; every set after the
/// genesis one comes with the header of height `fromHeight - 1` (which names it in
/// `nextValidatorSetHash`) and that header's commit certificate.
public struct CertifiedValidatorSet: Sendable {
    public var fromHeight: UInt64
    public var validators: ValidatorSet
    public var certifiedBy: CertifiedHeader?

    public init(fromHeight: UInt64, validators: ValidatorSet, certifiedBy: CertifiedHeader?) {
        self.fromHeight = fromHeight; self.validators = validators; self.certifiedBy = certifiedBy
    }
}

/// A committed header with its commit certificate.
public struct CertifiedHeader: Sendable {
    public var header: Header
    public var commit: CommitCertificate

    public init(header: Header, commit: CommitCertificate) { self.header = header; self.commit = commit }
}

/// Why a certificate could not be built from the node's data.
public struct CertificateBuildError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case commitHeightMismatch = "commit_height_mismatch"
        case txCountMismatch = "tx_count_mismatch"
        case txRootMismatch = "tx_root_mismatch"
        case txNotInBlock = "tx_not_in_block"
        case historyInvalid = "history_invalid"
        case batchIndexRequired = "batch_index_required"
        case batchIndexOutOfRange = "batch_index_out_of_range"
        case batchIndexNotAllowed = "batch_index_not_allowed"
        case valueOutOfRange = "value_out_of_range"
        case inclusionProofFailed = "inclusion_proof_failed"
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
}

/// Assembles the `totem-certificate/1` of a committed transaction from the node's records. It
/// checks that the parts fit together (the tx is in the block, the block's txs give its txRoot,
/// the commit is for its height, the history starts at genesis) but verifies no signature; run
/// `CertificateVerifier` on the result to check it as a court would.
public enum CertificateBuilder {
    /// - Parameters:
    ///   - blockTxs: the block's transactions in order, for the inclusion proof.
    ///   - history: every validator set from genesis, oldest first; sets that take force after the
    ///     block's height are left out of the certificate.
    ///   - batchIndex: the item of a RegisterWorkBatch (required for one, refused for other kinds).
    public static func build(genesis: Genesis, tx: SignedTx, header: Header, commit: CommitCertificate,
                             blockTxs: [SignedTx], history: [CertifiedValidatorSet],
                             batchIndex: Int? = nil) throws(CertificateBuildError) -> Certificate {
        guard commit.height == header.height else {
            throw CertificateBuildError(.commitHeightMismatch, "commit is for height \(commit.height), "
                                        + "the header is \(header.height)")
        }
        let (index, proof) = try inclusion(of: tx, in: blockTxs, header: header)
        let sets = try validatorSets(genesis: genesis, history: history, height: header.height)
        let work = try summary(of: tx, header: header, batchIndex: batchIndex)
        try requireSafe(header.height, "header height")
        return Certificate(chainId: genesis.chainId, genesisHash: genesis.genesisHash, tx: tx.bytes, txHash: tx.hash,
                           leafIndex: UInt64(index), treeSize: UInt64(blockTxs.count), inclusionProof: proof,
                           header: header.encoded, blockHash: header.hash, commit: commit, validatorSets: sets,
                           work: work)
    }

    private static func inclusion(of tx: SignedTx, in blockTxs: [SignedTx],
                                  header: Header) throws(CertificateBuildError) -> (Int, [Bytes32]) {
        guard blockTxs.count == Int(header.txCount) else {
            throw CertificateBuildError(.txCountMismatch, "\(blockTxs.count) txs given, the header counts "
                                        + "\(header.txCount)")
        }
        let tree = MerkleTree(leafHashes: blockTxs.map { Merkle.leafHash($0.bytes) })
        guard tree.root == header.txRoot else {
            throw CertificateBuildError(.txRootMismatch, "the given txs do not hash to the header's txRoot")
        }
        guard let index = blockTxs.firstIndex(where: { $0.bytes == tx.bytes }) else {
            throw CertificateBuildError(.txNotInBlock, "tx \(tx.hash) is not in the block")
        }
        do {
            return (index, try tree.inclusionProof(index: index))
        } catch {
            // The index is one of the tree's leaves, so this is a bug, not bad input: said as such.
            throw CertificateBuildError(.inclusionProofFailed, "no inclusion proof for leaf \(index): \(error)")
        }
    }

    /// The history entries in force at or before `height`; the genesis set listed as in the
    /// genesis file, later sets sorted ascending.
    private static func validatorSets(genesis: Genesis, history: [CertifiedValidatorSet],
                                      height: UInt64) throws(CertificateBuildError) -> [CertificateValidatorSet] {
        let records = history.filter { $0.fromHeight <= height }
        guard let first = records.first, first.fromHeight == 1, first.certifiedBy == nil,
              first.validators == genesis.validatorSet else {
            throw CertificateBuildError(.historyInvalid, "the validator-set history must start with the genesis set "
                                        + "in force from height 1")
        }
        var out = [CertificateValidatorSet(fromHeight: 1, validators: genesis.validators.map(\.publicKey),
                                           certifiedBy: nil)]
        for r in records.dropFirst() {
            guard let c = r.certifiedBy, c.header.height + 1 == r.fromHeight, c.commit.height == c.header.height else {
                throw CertificateBuildError(.historyInvalid, "the set from height \(r.fromHeight) lacks the header "
                                            + "of height \(r.fromHeight - 1) and its commit")
            }
            try requireSafe(r.fromHeight, "fromHeight")
            out.append(CertificateValidatorSet(fromHeight: r.fromHeight, validators: r.validators.keys,
                                               certifiedBy: CertifyingBlock(header: c.header.encoded, commit: c.commit)))
        }
        return out
    }

    private static func summary(of tx: SignedTx, header: Header,
                                batchIndex: Int?) throws(CertificateBuildError) -> CertificateWork? {
        let item: Work
        switch (tx.tx.payload, batchIndex) {
        case (.registerWork(let w), nil):
            item = w
        case (.registerWorkBatch(let works), let i?):
            guard works.indices.contains(i) else {
                throw CertificateBuildError(.batchIndexOutOfRange, "item \(i) of a \(works.count)-item batch")
            }
            item = works[i]
        case (.registerWorkBatch, nil):
            throw CertificateBuildError(.batchIndexRequired, "a RegisterWorkBatch certificate is per item")
        case (_, _?):
            throw CertificateBuildError(.batchIndexNotAllowed, "a \(tx.tx.kind.name) tx has no batch items")
        default:
            return nil
        }
        try requireSafe(header.timestampMs, "timestampMs")
        return CertificateWork(contentHash: item.contentHash, registrant: tx.tx.sender, title: item.title,
                               registeredAtMs: header.timestampMs, batchIndex: batchIndex.map(UInt64.init))
    }

    /// Certificate numbers are JSON integers up to 2^53 - 1.
    private static func requireSafe(_ v: UInt64, _ what: String) throws(CertificateBuildError) {
        guard v <= JSONLimits.safeIntegerMax else {
            throw CertificateBuildError(.valueOutOfRange, "\(what) \(v) is over 2^53 - 1, which JSON cannot carry")
        }
    }
}

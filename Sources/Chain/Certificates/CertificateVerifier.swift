import ChainModel
import TotemCrypto

/// What a valid certificate proves, decoded: this transaction was committed in this block, whose
/// validator set is certified from genesis.
public struct VerifiedCertificate: Sendable {
    public let certificate: Certificate
    public let tx: SignedTx
    public let header: Header
    /// The set in force at the block's height (the last `validatorSets` entry).
    public let validatorSet: ValidatorSet
    /// The registered Work (for a batch, the item at `batchIndex`); nil for other kinds.
    public let work: Work?

    public var height: UInt64 { header.height }
    public var registeredAtMs: UInt64 { header.timestampMs }
}

/// Verifies a `totem-certificate/1` offline with only the genesis file as trust root, in
/// PROTOCOL.md's eight steps; the first step that fails is the verdict.
public enum CertificateVerifier {
    public static func verify(_ document: [UInt8], genesis: Genesis) -> Result<VerifiedCertificate, CertificateFailure> {
        do {
            return .success(try CertificateVerification(genesis: genesis).run(document))
        } catch {
            return .failure(error)
        }
    }

    /// Parses the genesis file first; a genesis file that does not parse is the caller's error,
    /// not the certificate's.
    public static func verify(_ document: [UInt8], genesisFile: [UInt8])
    throws(GenesisError) -> Result<VerifiedCertificate, CertificateFailure> {
        verify(document, genesis: try Genesis.parse(fileBytes: genesisFile))
    }

    /// Verifies a certificate value as the document it writes.
    public static func verify(_ certificate: Certificate, genesis: Genesis) -> Result<VerifiedCertificate, CertificateFailure> {
        verify(certificate.jsonBytes(style: .compact), genesis: genesis)
    }
}

/// One verification: each step reads what it needs from the document and throws its failure.
struct CertificateVerification {
    let genesis: Genesis

    func run(_ bytes: [UInt8]) throws(CertificateFailure) -> VerifiedCertificate {
        let doc = try CertificateDocument.read(bytes)
        try checkGenesis(doc)
        let (entries, sets) = try checkValidatorSets(doc)
        let header = try checkHeader(doc, entries: entries, sets: sets)
        let inForce = sets[sets.count - 1]
        let commit = try CertificateReader.commit(doc.commit, step: .commit)
        try checkCommit(commit, header: header, blockHash: doc.blockHash, set: inForce, step: .commit, what: "commit")
        let tx = try checkTx(doc)
        try checkInclusion(doc, header: header)
        let (work, summary) = try checkWork(doc, tx: tx, header: header)
        let certificate = Certificate(
            chainId: doc.chainId, genesisHash: doc.genesisHash, tx: doc.tx, txHash: doc.txHash, leafIndex: doc.leafIndex,
            treeSize: doc.treeSize, inclusionProof: doc.inclusionProof, header: doc.header, blockHash: doc.blockHash,
            commit: commit, validatorSets: entries, work: summary)
        return VerifiedCertificate(certificate: certificate, tx: tx, header: header, validatorSet: inForce, work: work)
    }

    // MARK: 2. genesis

    private func checkGenesis(_ doc: CertificateDocument) throws(CertificateFailure) {
        guard doc.genesisHash == genesis.genesisHash else {
            throw CertificateFailure(.genesis, "hash", "genesisHash \(doc.genesisHash) is not the SHA-256 of the "
                                     + "genesis file (\(genesis.genesisHash))")
        }
        guard sameBytes(doc.chainId, genesis.chainId) else {
            throw CertificateFailure(.genesis, "chain_id", "chainId \"\(doc.chainId)\" is not the genesis chainId "
                                     + "\"\(genesis.chainId)\"")
        }
    }

    // MARK: 4. header

    private func checkHeader(_ doc: CertificateDocument, entries: [CertificateValidatorSet],
                             sets: [ValidatorSet]) throws(CertificateFailure) -> Header {
        guard SHA256.hash(doc.header) == doc.blockHash else {
            throw CertificateFailure(.header, "block_hash", "blockHash is not the SHA-256 of the header")
        }
        let header: Header
        do {
            header = try Header.decode(doc.header)
        } catch {
            throw CertificateFailure(.header, "decode", "the header does not decode: \(error)")
        }
        guard sameBytes(header.chainId, genesis.chainId) else {
            throw CertificateFailure(.header, "chain_id", "the header's chainId \"\(header.chainId)\" is not the chain's")
        }
        for (i, e) in entries.enumerated() where e.fromHeight > header.height {
            throw CertificateFailure(.header, "set_above_height", "validatorSets[\(i)] starts at height \(e.fromHeight), "
                                     + "above the header's height \(header.height)")
        }
        let inForce = sets[sets.count - 1]
        guard header.validatorSetHash == inForce.hash else {
            throw CertificateFailure(.header, "validator_set_hash", "the header's validatorSetHash is not the hash of "
                                     + "the last validatorSets entry, the set in force")
        }
        return header
    }

    // MARK: 5. commit (also for the certifying commits of step 3)

    /// `commit.height` is the header's, its view at least the header's, every signature by a
    /// distinct member of `set` and valid over `totem/commit/v1`, and at least a quorum of them.
    func checkCommit(_ commit: CommitCertificate, header: Header, blockHash: Bytes32, set: ValidatorSet,
                     step: CertificateStep, what context: String) throws(CertificateFailure) {
        do {
            try commit.verify(blockHash: blockHash, headerHeight: header.height, headerView: header.view,
                              validators: set, genesisHash: genesis.genesisHash)
        } catch {
            let name = error.codeName
            let detail = name.hasPrefix("commit_") ? String(name.dropFirst(7)) : name
            throw CertificateFailure(step, step == .commit ? detail : "commit_\(detail)", "\(context): \(error.message)")
        }
    }

    // MARK: 6. tx

    private func checkTx(_ doc: CertificateDocument) throws(CertificateFailure) -> SignedTx {
        guard SHA256.hash(doc.tx) == doc.txHash else {
            throw CertificateFailure(.tx, "hash", "txHash is not the SHA-256 of tx")
        }
        let tx: SignedTx
        do {
            tx = try SignedTx.decode(doc.tx)
        } catch {
            throw CertificateFailure(.tx, "decode", "tx does not decode: \(error)")
        }
        guard sameBytes(tx.tx.chainId, genesis.chainId) else {
            throw CertificateFailure(.tx, "chain_id", "the tx's chainId \"\(tx.tx.chainId)\" is not the chain's")
        }
        guard tx.verifySignature(genesisHash: genesis.genesisHash) else {
            throw CertificateFailure(.tx, "signature", "the tx's signature is not valid for its sender \(tx.tx.sender)")
        }
        return tx
    }

    // MARK: 7. inclusion

    private func checkInclusion(_ doc: CertificateDocument, header: Header) throws(CertificateFailure) {
        guard doc.treeSize == UInt64(header.txCount) else {
            throw CertificateFailure(.inclusion, "tree_size", "treeSize \(doc.treeSize) is not the header's txCount "
                                     + "\(header.txCount)")
        }
        guard doc.leafIndex < doc.treeSize else {
            throw CertificateFailure(.inclusion, "leaf_index", "leafIndex \(doc.leafIndex) is not below treeSize "
                                     + "\(doc.treeSize)")
        }
        do {
            try Merkle.checkInclusion(leafHash: Merkle.leafHash(doc.tx), index: doc.leafIndex, treeSize: doc.treeSize,
                                      proof: doc.inclusionProof, root: header.txRoot)
        } catch {
            throw CertificateFailure(.inclusion, "proof", "the inclusion proof does not lead from tx at leaf "
                                     + "\(doc.leafIndex) to the header's txRoot: \(error.message)")
        }
    }
}

/// Strings compare as exact UTF-8 bytes, never Unicode-normalised.
func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

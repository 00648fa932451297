import ChainModel
import TotemCrypto

extension Certificate {
    /// Reads a certificate's structure without verifying it. A structural error fails the step
    /// that reads the object, as in verification (`format` for the top level, `validatorSets`,
    /// `commit`, `work` for theirs); `batchIndex` is accepted with or without, as the tx kind
    /// is not checked here.
    public static func parse(_ bytes: [UInt8]) throws(CertificateFailure) -> Certificate {
        let doc = try CertificateDocument.read(bytes)
        let sets = try CertificateReader.validatorSets(doc.validatorSets)
        let commit = try CertificateReader.commit(doc.commit, step: .commit)
        var work: CertificateWork?
        if let w = doc.work { work = try CertificateReader.work(w, batch: nil) }
        return Certificate(chainId: doc.chainId, genesisHash: doc.genesisHash, tx: doc.tx, txHash: doc.txHash,
                           leafIndex: doc.leafIndex, treeSize: doc.treeSize, inclusionProof: doc.inclusionProof,
                           header: doc.header, blockHash: doc.blockHash, commit: commit, validatorSets: sets, work: work)
    }

    /// The document, keys in PROTOCOL.md's order.
    public var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "format", value: .string(CertificateLimits.format)),
            (key: "chainId", value: .string(chainId)),
            (key: "genesisHash", value: .string(genesisHash.hex)),
            (key: "tx", value: .string(Base64.encode(tx))),
            (key: "txHash", value: .string(txHash.hex)),
            (key: "leafIndex", value: .integer(leafIndex)),
            (key: "treeSize", value: .integer(treeSize)),
            (key: "inclusionProof", value: .array(inclusionProof.map { .string($0.hex) })),
            (key: "header", value: .string(Base64.encode(header))),
            (key: "blockHash", value: .string(blockHash.hex)),
            (key: "commit", value: Self.json(commit)),
            (key: "validatorSets", value: .array(validatorSets.map(Self.json))),
        ]
        if let work { members.append((key: "work", value: Self.json(work))) }
        return .object(members)
    }

    /// The document's text: indented for people by default, `.compact` for APIs.
    public func jsonBytes(style: JSONWriter.Style = .pretty(indent: 2)) -> [UInt8] {
        JSONWriter.write(jsonValue, style: style)
    }

    static func json(_ c: CommitCertificate) -> JSONValue {
        .object([
            (key: "height", value: .integer(c.height)),
            (key: "view", value: .integer(UInt64(c.view))),
            (key: "signatures", value: .array(c.signatures.map { s in
                .object([(key: "validator", value: .string(s.validator.hex)),
                         (key: "signature", value: .string(s.signature.hex))])
            })),
        ])
    }

    static func json(_ e: CertificateValidatorSet) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "fromHeight", value: .integer(e.fromHeight)),
            (key: "validators", value: .array(e.validators.map { .string($0.hex) })),
        ]
        if let c = e.certifiedBy {
            members.append((key: "certifiedBy", value: .object([
                (key: "header", value: .string(Base64.encode(c.header))),
                (key: "commit", value: json(c.commit)),
            ])))
        }
        return .object(members)
    }

    static func json(_ w: CertificateWork) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            (key: "contentHash", value: .string(w.contentHash.hex)),
            (key: "registrant", value: .string(w.registrant.hex)),
            (key: "title", value: .string(w.title)),
            (key: "registeredAtMs", value: .integer(w.registeredAtMs)),
        ]
        if let i = w.batchIndex { members.append((key: "batchIndex", value: .integer(i))) }
        return .object(members)
    }
}

import ChainModel
import TotemCrypto

/// Runs `body`, reporting a JSON-level error as a failure of `step`, the step that reads the object.
func reading<T>(_ step: CertificateStep, _ body: () throws(JSONError) -> T) throws(CertificateFailure) -> T {
    do {
        return try body()
    } catch {
        throw CertificateFailure(step, error)
    }
}

/// A certificate as step `format` reads it: the JSON parses, the top-level keys are exactly
/// PROTOCOL.md's (`work` optional: whether it belongs depends on the tx kind, which step `work`
/// checks), every top-level value has its JSON type and canonical form, and the format string
/// matches. The objects that later steps read (`validatorSets` entries, `commit`, `work`) are
/// kept as JSON, so that a missing or unknown key inside them fails the step that reads them.
struct CertificateDocument {
    static let topKeys = ["format", "chainId", "genesisHash", "tx", "txHash", "leafIndex", "treeSize",
                          "inclusionProof", "header", "blockHash", "commit", "validatorSets"]

    var format: String
    var chainId: String
    var genesisHash: Bytes32
    var tx: [UInt8]
    var txHash: Bytes32
    var leafIndex: UInt64
    var treeSize: UInt64
    var inclusionProof: [Bytes32]
    var header: [UInt8]
    var blockHash: Bytes32
    var commit: JSONObjectReader
    var validatorSets: [JSONValue]
    var work: JSONObjectReader?

    static func read(_ bytes: [UInt8]) throws(CertificateFailure) -> CertificateDocument {
        let doc = try reading(.format) { () throws(JSONError) in try readTop(bytes) }
        guard sameBytes(doc.format, CertificateLimits.format) else {
            throw CertificateFailure(.format, "version", "format is \"\(doc.format)\"; this verifier reads "
                                     + "\"\(CertificateLimits.format)\"")
        }
        return doc
    }

    private static func readTop(_ bytes: [UInt8]) throws(JSONError) -> CertificateDocument {
        let o = try JSONParser.parse(bytes, maxInputBytes: CertificateLimits.documentMaxBytes).object(at: .root)
        try o.expectKeys(topKeys, optional: ["work"])
        let proofPath = o.path.appending("inclusionProof")
        let proofItems = try o.array("inclusionProof")
        guard proofItems.count <= CertificateLimits.inclusionProofHashesMax else {
            throw JSONError(.tooLong, at: proofPath,
                            "\(proofItems.count) hashes, at most \(CertificateLimits.inclusionProofHashesMax)")
        }
        var proof = [Bytes32]()
        for (i, item) in proofItems.enumerated() { proof.append(try item.bytes32(at: proofPath.appending(index: i))) }
        return CertificateDocument(
            format: try o.string("format"), chainId: try o.string("chainId"), genesisHash: try o.bytes32("genesisHash"),
            tx: try o.base64("tx", maxBytes: CertificateLimits.documentMaxBytes), txHash: try o.bytes32("txHash"),
            leafIndex: try o.uint("leafIndex"), treeSize: try o.uint("treeSize"), inclusionProof: proof,
            header: try o.base64("header", maxBytes: CertificateLimits.headerMaxBytes),
            blockHash: try o.bytes32("blockHash"), commit: try o.object("commit"),
            validatorSets: try o.array("validatorSets"),
            work: try o.optional("work").map { (v: JSONValue) throws(JSONError) in try v.object(at: o.path.appending("work")) })
    }
}

/// Readers of the objects that steps after `format` read; their errors fail that step.
enum CertificateReader {
    static let entryKeys = ["fromHeight", "validators"]
    static let certifiedByKeys = ["header", "commit"]
    static let commitKeys = ["height", "view", "signatures"]
    static let signatureKeys = ["validator", "signature"]
    static let workKeys = ["contentHash", "registrant", "title", "registeredAtMs"]

    /// The `validatorSets` entries: the first without `certifiedBy`, later ones with it.
    static func validatorSets(_ items: [JSONValue]) throws(CertificateFailure) -> [CertificateValidatorSet] {
        guard items.count <= CertificateLimits.validatorSetEntriesMax else {
            throw CertificateFailure(.validatorSets, "too_long",
                                     "\(items.count) entries, at most \(CertificateLimits.validatorSetEntriesMax)")
        }
        var out = [CertificateValidatorSet]()
        for (i, item) in items.enumerated() {
            out.append(try reading(.validatorSets) { () throws(JSONError) in try entry(item, index: i) })
        }
        return out
    }

    private static func entry(_ item: JSONValue, index: Int) throws(JSONError) -> CertificateValidatorSet {
        let o = try item.object(at: JSONPath().appending("validatorSets").appending(index: index))
        try o.expectKeys(index == 0 ? entryKeys : entryKeys + ["certifiedBy"])
        let keysPath = o.path.appending("validators")
        let keyItems = try o.array("validators")
        guard keyItems.count <= CertificateLimits.validatorsMax else {
            throw JSONError(.tooLong, at: keysPath, "\(keyItems.count) keys, at most \(CertificateLimits.validatorsMax)")
        }
        var keys = [Bytes32]()
        for (i, k) in keyItems.enumerated() { keys.append(try k.bytes32(at: keysPath.appending(index: i))) }
        var certifiedBy: CertifyingBlock?
        if index > 0 {
            let c = try o.object("certifiedBy")
            try c.expectKeys(certifiedByKeys)
            certifiedBy = CertifyingBlock(header: try c.base64("header", maxBytes: CertificateLimits.headerMaxBytes),
                                          commit: try commitFields(try c.object("commit")))
        }
        return CertificateValidatorSet(fromHeight: try o.uint("fromHeight"), validators: keys, certifiedBy: certifiedBy)
    }

    /// A commit object: `height`, `view` (a u32) and signature entries; its errors fail `step`.
    static func commit(_ o: JSONObjectReader, step: CertificateStep) throws(CertificateFailure) -> CommitCertificate {
        try reading(step) { () throws(JSONError) in try commitFields(o) }
    }

    private static func commitFields(_ o: JSONObjectReader) throws(JSONError) -> CommitCertificate {
        try o.expectKeys(commitKeys)
        let sigPath = o.path.appending("signatures")
        let items = try o.array("signatures")
        guard items.count <= CertificateLimits.validatorsMax else {
            throw JSONError(.tooLong, at: sigPath, "\(items.count) signatures, at most \(CertificateLimits.validatorsMax)")
        }
        var sigs = [ValidatorSignature]()
        for (i, item) in items.enumerated() {
            let s = try item.object(at: sigPath.appending(index: i))
            try s.expectKeys(signatureKeys)
            sigs.append(ValidatorSignature(validator: try s.bytes32("validator"), signature: try s.bytes64("signature")))
        }
        return CommitCertificate(height: try o.uint("height"), view: try o.uint32("view"), signatures: sigs)
    }

    /// The `work` object. `batch` says whether `batchIndex` is required (true), forbidden
    /// (false) or either (nil, when the tx kind is not known).
    static func work(_ o: JSONObjectReader, batch: Bool?) throws(CertificateFailure) -> CertificateWork {
        try reading(.work) { () throws(JSONError) in
            switch batch {
            case true?: try o.expectKeys(workKeys + ["batchIndex"])
            case false?: try o.expectKeys(workKeys)
            case nil: try o.expectKeys(workKeys, optional: ["batchIndex"])
            }
            return CertificateWork(contentHash: try o.bytes32("contentHash"), registrant: try o.bytes32("registrant"),
                                   title: try o.string("title"), registeredAtMs: try o.uint("registeredAtMs"),
                                   batchIndex: o.has("batchIndex") ? try o.uint("batchIndex") : nil)
        }
    }
}

import ChainModel
import TotemCrypto

/// The JSON form of transactions (docs/openapi.yaml): the same fields as PROTOCOL.md, binary values
/// as lowercase hex, `imageCode` as 16 hex digits or null, enums by name. Used by the API's
/// `POST /v1/txs/json` and by the CLI to show transactions.
enum TxJSON {
    static func encode(_ tx: SignedTx) -> JSONValue {
        let t = tx.tx
        return .object([
            ("txHash", .string(tx.hash.hex)),
            ("chainId", .string(t.chainId)),
            ("kind", .string(t.kind.name)),
            ("sender", .string(t.sender.hex)),
            ("nonce", .integer(t.nonce)),
            ("payload", payload(t.payload)),
            ("signature", .string(tx.signature.hex)),
        ])
    }

    static func imageCode(_ code: UInt64?) -> JSONValue {
        code.map { .string(imageCodeHex($0)) } ?? .null
    }

    /// An image code as 16 lowercase hex digits (the big-endian u64).
    static func imageCodeHex(_ code: UInt64) -> String {
        let hex = String(code, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func work(_ w: Work) -> JSONValue {
        .object([("contentHash", .string(w.contentHash.hex)), ("imageCode", imageCode(w.imageCode)),
                 ("title", .string(w.title)), ("mediaType", .string(w.mediaType)),
                 ("width", .integer(UInt64(w.width))), ("height", .integer(UInt64(w.height))),
                 ("license", .string(w.license))])
    }

    static func payload(_ p: Payload) -> JSONValue {
        switch p {
        case .registerIdentity(let x):
            return .object([("subject", .string(x.subject.hex)), ("displayName", .string(x.displayName)),
                            ("role", .string(x.role.name)), ("kycDigest", .string(x.kycDigest.hex))])
        case .revokeIdentity(let x):
            return .object([("subject", .string(x.subject.hex)), ("reason", .string(x.reason))])
        case .registerWork(let w):
            return work(w)
        case .transferWork(let x):
            return .object([("contentHash", .string(x.contentHash.hex)), ("newOwner", .string(x.newOwner.hex))])
        case .grantLicense(let x):
            return .object([("contentHash", .string(x.contentHash.hex)), ("licensee", .string(x.licensee.hex)),
                            ("terms", .string(x.terms)), ("validUntilMs", .integer(x.validUntilMs))])
        case .fileClaim(let x):
            return .object([("contentHash", .string(x.contentHash.hex)),
                            ("infringingDigest", .string(x.infringingDigest.hex)),
                            ("locator", .string(x.locator)), ("note", .string(x.note))])
        case .addRegistrar(let x):
            return .object([("subject", .string(x.subject.hex)), ("name", .string(x.name))])
        case .removeRegistrar(let subject):
            return .object([("subject", .string(subject.hex))])
        case .validatorChange(let x):
            return .object([("op", .string(x.op == .add ? "add" : "remove")), ("validator", .string(x.validator.hex)),
                            ("name", .string(x.name)), ("p2pAddress", .string(x.p2pAddress))])
        case .registerWorkBatch(let works):
            return .object([("works", .array(works.map(work)))])
        case .submitEvidence(let x):
            return .object([("phase", .string(x.phase == .prepare ? "prepare" : "commit")),
                            ("validator", .string(x.validator.hex)), ("height", .integer(x.height)),
                            ("view", .integer(UInt64(x.view))),
                            ("blockHashA", .string(x.blockHashA.hex)), ("signatureA", .string(x.signatureA.hex)),
                            ("blockHashB", .string(x.blockHashB.hex)), ("signatureB", .string(x.signatureB.hex))])
        }
    }
}

/// Reading the JSON form back; every error names the field.
extension TxJSON {
    /// A signed transaction in JSON form, checked by re-encoding through the canonical decoder, so
    /// the JSON and binary paths accept exactly the same transactions.
    static func decodeSigned(_ value: JSONValue, at path: JSONPath) throws(APIError) -> SignedTx {
        do {
            let o = try value.object(at: path)
            try o.expectKeys(["chainId", "kind", "sender", "nonce", "payload", "signature"], optional: ["txHash"])
            let kindName = try o.string("kind")
            guard let kind = TxKind.allCases.first(where: { $0.name == kindName }) else {
                throw APIError.badRequest("malformed_tx", "\(path.appending("kind")): unknown kind \"\(kindName)\"")
            }
            let tx = Tx(chainId: try o.string("chainId"), sender: try o.bytes32("sender"), nonce: try o.uint("nonce"),
                        payload: try payload(kind, try o.object("payload")))
            var bytes = tx.encoded
            try o.bytes64("signature").append(to: &bytes)
            do {
                return try SignedTx.decode(bytes)
            } catch {
                throw APIError.badRequest("malformed_tx", "\(error.field): \(error.description)")
            }
        } catch let e as JSONError {
            throw APIError.badRequest("malformed_tx", e.description)
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.badRequest("malformed_tx", "\(error)")
        }
    }

    private static func workFrom(_ o: JSONObjectReader) throws -> Work {
        try o.expectKeys(["contentHash", "imageCode", "title", "mediaType", "width", "height", "license"])
        var code: UInt64?
        if case .string(let hex)? = o.optional("imageCode") {
            guard hex.count == 16, let bytes = Hex.decode(hex) else {
                throw APIError.badRequest("malformed_tx", "\(o.path.appending("imageCode")): 16 lowercase hex digits or null")
            }
            code = bytes.reduce(0) { $0 << 8 | UInt64($1) }
        } else if case .null? = o.optional("imageCode") {
            code = nil
        } else {
            throw APIError.badRequest("malformed_tx", "\(o.path.appending("imageCode")): 16 lowercase hex digits or null")
        }
        return Work(contentHash: try o.bytes32("contentHash"), imageCode: code, title: try o.string("title"),
                    mediaType: try o.string("mediaType"), width: try o.uint32("width"), height: try o.uint32("height"),
                    license: try o.string("license"))
    }

    private static func named<T>(_ o: JSONObjectReader, _ key: String, _ options: [(String, T)]) throws -> T {
        let s = try o.string(key)
        guard let v = options.first(where: { $0.0 == s })?.1 else {
            throw APIError.badRequest("malformed_tx", "\(o.path.appending(key)): one of \(options.map(\.0).joined(separator: ", "))")
        }
        return v
    }

    private static func payload(_ kind: TxKind, _ o: JSONObjectReader) throws -> Payload {
        switch kind {
        case .registerIdentity:
            try o.expectKeys(["subject", "displayName", "role", "kycDigest"])
            return .registerIdentity(RegisterIdentity(
                subject: try o.bytes32("subject"), displayName: try o.string("displayName"),
                role: try named(o, "role", [("photographer", IdentityRole.photographer), ("agency", .agency)]),
                kycDigest: try o.bytes32("kycDigest")))
        case .revokeIdentity:
            try o.expectKeys(["subject", "reason"])
            return .revokeIdentity(RevokeIdentity(subject: try o.bytes32("subject"), reason: try o.string("reason")))
        case .registerWork:
            return .registerWork(try workFrom(o))
        case .transferWork:
            try o.expectKeys(["contentHash", "newOwner"])
            return .transferWork(TransferWork(contentHash: try o.bytes32("contentHash"), newOwner: try o.bytes32("newOwner")))
        case .grantLicense:
            try o.expectKeys(["contentHash", "licensee", "terms", "validUntilMs"])
            return .grantLicense(GrantLicense(contentHash: try o.bytes32("contentHash"), licensee: try o.bytes32("licensee"),
                                              terms: try o.string("terms"), validUntilMs: try o.uint("validUntilMs")))
        case .fileClaim:
            try o.expectKeys(["contentHash", "infringingDigest", "locator", "note"])
            return .fileClaim(FileClaim(contentHash: try o.bytes32("contentHash"),
                                        infringingDigest: try o.bytes32("infringingDigest"),
                                        locator: try o.string("locator"), note: try o.string("note")))
        case .addRegistrar:
            try o.expectKeys(["subject", "name"])
            return .addRegistrar(AddRegistrar(subject: try o.bytes32("subject"), name: try o.string("name")))
        case .removeRegistrar:
            try o.expectKeys(["subject"])
            return .removeRegistrar(subject: try o.bytes32("subject"))
        case .validatorChange:
            try o.expectKeys(["op", "validator", "name", "p2pAddress"])
            return .validatorChange(ValidatorChange(
                op: try named(o, "op", [("add", ValidatorChangeOp.add), ("remove", .remove)]),
                validator: try o.bytes32("validator"), name: try o.string("name"), p2pAddress: try o.string("p2pAddress")))
        case .registerWorkBatch:
            try o.expectKeys(["works"])
            var works: [Work] = []
            for (i, w) in try o.array("works").enumerated() {
                works.append(try workFrom(try w.object(at: o.path.appending("works").appending(index: i))))
            }
            return .registerWorkBatch(works)
        case .submitEvidence:
            try o.expectKeys(["phase", "validator", "height", "view", "blockHashA", "signatureA", "blockHashB", "signatureB"])
            return .submitEvidence(SubmitEvidence(
                phase: try named(o, "phase", [("prepare", VotePhase.prepare), ("commit", .commit)]),
                validator: try o.bytes32("validator"), height: try o.uint("height"), view: try o.uint32("view"),
                blockHashA: try o.bytes32("blockHashA"), signatureA: try o.bytes64("signatureA"),
                blockHashB: try o.bytes32("blockHashB"), signatureB: try o.bytes64("signatureB")))
        }
    }
}

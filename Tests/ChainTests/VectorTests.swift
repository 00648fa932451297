import Foundation
import Testing
import TotemCrypto
@testable import ChainModel

/// Builds the model value that a vector's `fields` describe, independently of the decoder.
enum VectorModel {
    static func work(_ f: JSONFields) -> Work {
        Work(contentHash: f.b32("contentHash"), imageCode: f.isNull("imageCode") ? nil : f.u64("imageCode"),
             title: f.string("title"), mediaType: f.string("mediaType"), width: f.u32("width"),
             height: f.u32("height"), license: f.string("license"))
    }

    static func payload(kind: UInt8, _ p: JSONFields) -> Payload? {
        switch TxKind(rawValue: kind) {
        case .registerIdentity:
            guard let role = IdentityRole(rawValue: p.u8("role")) else { return nil }
            return .registerIdentity(RegisterIdentity(subject: p.b32("subject"), displayName: p.string("displayName"),
                                                      role: role, kycDigest: p.b32("kycDigest")))
        case .revokeIdentity: return .revokeIdentity(RevokeIdentity(subject: p.b32("subject"), reason: p.string("reason")))
        case .registerWork: return .registerWork(work(p))
        case .transferWork: return .transferWork(TransferWork(contentHash: p.b32("contentHash"), newOwner: p.b32("newOwner")))
        case .grantLicense:
            return .grantLicense(GrantLicense(contentHash: p.b32("contentHash"), licensee: p.b32("licensee"),
                                              terms: p.string("terms"), validUntilMs: p.u64("validUntilMs")))
        case .fileClaim:
            return .fileClaim(FileClaim(contentHash: p.b32("contentHash"), infringingDigest: p.b32("infringingDigest"),
                                        locator: p.string("locator"), note: p.string("note")))
        case .addRegistrar: return .addRegistrar(AddRegistrar(subject: p.b32("subject"), name: p.string("name")))
        case .removeRegistrar: return .removeRegistrar(subject: p.b32("subject"))
        case .validatorChange:
            guard let op = ValidatorChangeOp(rawValue: p.u8("op")) else { return nil }
            return .validatorChange(ValidatorChange(op: op, validator: p.b32("validator"), name: p.string("name"),
                                                    p2pAddress: p.string("p2pAddress")))
        case .registerWorkBatch: return .registerWorkBatch(p.list("works").map(work))
        case .submitEvidence:
            guard let phase = VotePhase(rawValue: p.u8("phase")) else { return nil }
            return .submitEvidence(SubmitEvidence(phase: phase, validator: p.b32("validator"), height: p.u64("height"),
                                                  view: p.u32("view"), blockHashA: p.b32("blockHashA"),
                                                  signatureA: p.b64("signatureA"), blockHashB: p.b32("blockHashB"),
                                                  signatureB: p.b64("signatureB")))
        case nil: return nil
        }
    }

    static func tx(_ f: JSONFields) -> Tx? {
        guard let payload = payload(kind: f.u8("kind"), f.sub("payload")) else { return nil }
        return Tx(chainId: f.string("chainId"), sender: f.b32("sender"), nonce: f.u64("nonce"), payload: payload)
    }

    static func header(_ f: JSONFields) -> Header {
        Header(chainId: f.string("chainId"), height: f.u64("height"), view: f.u32("view"),
               timestampMs: f.u64("timestampMs"), parentHash: f.b32("parentHash"), txRoot: f.b32("txRoot"),
               txCount: f.u32("txCount"), stateRoot: f.b32("stateRoot"), validatorSetHash: f.b32("validatorSetHash"),
               nextValidatorSetHash: f.b32("nextValidatorSetHash"), proposer: f.b32("proposer"))
    }

    static let genesisHash = TestData.vectors.b32("genesisHash")

    static func key(seedIndex: Int) -> SigningKey? {
        let keys = TestData.vectors.list("keys")
        guard seedIndex < keys.count else { return nil }
        return SigningKey(seed: keys[seedIndex].b32("seed"))
    }
}

@Suite("PROTOCOL.md v1 vectors")
struct VectorTests {
    @Test func vectorsArePresent() throws {
        _ = try TestData.data("totem/vectors.json")
        #expect(TestData.section("transactions").count == 16)
        #expect(TestData.section("malformed").count == 48)
    }

    @Test(arguments: TestData.section("transactions"))
    func transaction(_ v: JSONFields) throws {
        let tx = try #require(VectorModel.tx(v.sub("fields")), "fields of \(v.string("name"))")
        #expect(Hex.encode(tx.encoded) == v.string("tx"), "encoding of \(v.string("name"))")
        #expect(SigningDomain.tx.message(genesisHash: VectorModel.genesisHash, body: tx.encoded) == v.bytes("signingMessage"))
        let key = try #require(VectorModel.key(seedIndex: Int(v.u64("signerSeedIndex"))))
        let signed = tx.signed(by: key, genesisHash: VectorModel.genesisHash)
        #expect(signed.signature.hex == v.string("signature"))
        #expect(Hex.encode(signed.bytes) == v.string("signedTx"))
        #expect(signed.hash.hex == v.string("txHash"))

        let decoded = try SignedTx.decode(v.bytes("signedTx"))
        #expect(decoded.tx == tx)
        #expect(decoded.bytes == v.bytes("signedTx"))
        #expect(decoded.tx.encoded == v.bytes("tx"))
        #expect(decoded.hash.hex == v.string("txHash"))
        #expect(decoded.verifySignature(genesisHash: VectorModel.genesisHash))
        #expect(!decoded.verifySignature(genesisHash: SHA256.hash([1])))
    }

    @Test(arguments: TestData.section("headers"))
    func header(_ v: JSONFields) throws {
        let h = VectorModel.header(v.sub("fields"))
        #expect(Hex.encode(h.encoded) == v.string("encoding"))
        #expect(h.hash.hex == v.string("blockHash"))
        let decoded = try Header.decode(v.bytes("encoding"))
        #expect(decoded == h)
        let commit = v.sub("commit")
        let body = VoteBody(height: commit.u64("height"), view: commit.u32("view"), blockHash: h.hash)
        #expect(SigningDomain.commit.message(genesisHash: VectorModel.genesisHash, body: body.encoded) == commit.bytes("message"))
        for s in commit.list("signatures") {
            #expect(body.verify(.commit, signature: s.b64("signature"), validator: s.b32("validator"),
                                genesisHash: VectorModel.genesisHash))
        }
    }

    /// stateRoot chains: SHA-256("totem/state/v1" || 0x00 || parent's stateRoot || changesHash).
    @Test func stateRootChain() {
        var parent = VectorModel.genesisHash
        let headers = TestData.section("headers")
        #expect(headers.count == 7)
        for v in headers {
            let root = StateRoot.next(parent: parent, changesHash: v.b32("changesHash"))
            #expect(root == v.sub("fields").b32("stateRoot"), "\(v.string("name"))")
            parent = root
        }
    }

    @Test(arguments: TestData.section("validatorSets"))
    func validatorSet(_ v: JSONFields) throws {
        let keys = v.strings("keys").compactMap { Bytes32(hex: $0) }
        let set = try #require(ValidatorSet(keys))
        #expect(set.keys.map(\.hex) == v.strings("sortedKeys"))
        var w = TCEWriter()
        w.list(set.keys) { $0.bytes32($1) }
        #expect(Hex.encode(w.bytes) == v.string("encoding"))
        #expect(set.hash.hex == v.string("hash"))
        #expect(set.quorum == Int(v.u64("quorum")))
    }

    @Test func quorumTable() {
        let table = TestData.vectors.sub("quorum")
        #expect(table.dict.count == 10)
        for n in table.dict.keys {
            #expect(ValidatorSet.quorum(of: Int(n) ?? -1) == Int(table.u64(n)), "n = \(n)")
        }
    }

    @Test(arguments: TestData.section("votes"))
    func vote(_ v: JSONFields) throws {
        let phase: VotePhase = v.string("phase") == "prepare" ? .prepare : .commit
        let body = VoteBody(height: v.u64("height"), view: v.u32("view"), blockHash: v.b32("blockHash"))
        #expect(phase.domain.message(genesisHash: v.b32("genesisHash"), body: body.encoded) == v.bytes("message"))
        let key = try #require(VectorModel.key(seedIndex: Int(v.u64("validatorSeedIndex"))))
        #expect(key.publicKey == v.b32("validatorPublicKey"))
        #expect(body.sign(phase, key: key, genesisHash: v.b32("genesisHash")).hex == v.string("signature"))
        #expect(body.verify(phase, signature: v.b64("signature"), validator: key.publicKey, genesisHash: v.b32("genesisHash")))
        let other: VotePhase = phase == .prepare ? .commit : .prepare
        #expect(!body.verify(other, signature: v.b64("signature"), validator: key.publicKey, genesisHash: v.b32("genesisHash")))
    }

    @Test(arguments: TestData.section("boundaries"))
    func boundary(_ v: JSONFields) throws {
        let bytes = v.bytes("signedTx")
        #expect(bytes.count == Int(v.u64("length")))
        let tx = try SignedTx.decode(bytes)
        #expect(tx.tx.encoded + tx.signature.bytes == bytes, "\(v.string("name")) re-encodes")
        #expect(tx.hash.hex == v.string("txHash"))
        #expect(tx.verifySignature(genesisHash: VectorModel.genesisHash))
    }

    @Test(arguments: TestData.section("malformed"))
    func malformed(_ v: JSONFields) {
        let reasons = v.strings("reasons")
        let error = decodeError { () throws(DecodeError) in _ = try SignedTx.decode(v.bytes("signedTx")) }
        #expect(error != nil, "\(v.string("name")) must be rejected")
        #expect(reasons.contains(error?.reason.rawValue ?? "none"), "\(v.string("name")): reason \(String(describing: error))")
        #expect(error?.field == v.string("field"), "\(v.string("name")): field")
    }

    @Test(arguments: TestData.section("boundaryHeaders"))
    func boundaryHeader(_ v: JSONFields) throws {
        let h = try Header.decode(v.bytes("header"))
        #expect(h == VectorModel.header(v.sub("fields")))
        #expect(h.encoded == v.bytes("header"))
        #expect(h.hash.hex == v.string("blockHash"))
    }

    @Test(arguments: TestData.section("malformedHeaders"))
    func malformedHeader(_ v: JSONFields) {
        let reasons = v.strings("reasons")
        let error = decodeError { () throws(DecodeError) in _ = try Header.decode(v.bytes("header")) }
        #expect(error != nil, "\(v.string("name")) must be rejected")
        #expect(reasons.contains(error?.reason.rawValue ?? "none"), "\(v.string("name")): reason \(String(describing: error))")
        #expect(error?.field == v.string("field"), "\(v.string("name")): field")
    }

    @Test(arguments: TestData.section("imageCodes"))
    func imageCode(_ v: JSONFields) {
        let code = v.u64("imageCode")
        #expect(String(code, radix: 16).leftPadded(to: 16) == v.string("body"))
        var w = TCEWriter()
        w.optional(code) { $0.u64($1) }
        #expect(Hex.encode(w.bytes) == v.string("encoding"))
    }
}

func decodeError(_ body: () throws(DecodeError) -> Void) -> DecodeError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

@Suite("txRoot vectors")
struct TxRootVectorTests {
    /// RFC 6962 roots over the vectors' SignedTx byte strings, named by transaction.
    @Test(arguments: TestData.section("txRoots"))
    func txRoot(_ v: JSONFields) throws {
        var byName: [String: SignedTx] = [:]
        for t in TestData.section("transactions") {
            byName[t.string("name")] = try SignedTx.decode(t.bytes("signedTx"))
        }
        let txs = v.strings("leaves").compactMap { byName[$0] }
        #expect(txs.count == Int(v.u64("size")))
        #expect(Block.txRoot(txs).hex == v.string("root"))
        #expect(txs.map { Merkle.leafHash($0.bytes).hex } == v.strings("leafHashes"))
    }
}

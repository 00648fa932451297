import Foundation
import Testing
@testable import TotemCrypto

/// Ed25519 conformance: Wycheproof's accept/reject vectors through the raw verifier, and the
/// RFC 8032 section 7.1 vectors through key derivation, signing and verification.
@Suite struct Ed25519Tests {
    @Test(arguments: try WycheproofCase.all())
    func wycheproof(_ c: WycheproofCase) throws {
        let message = try Decode.hex(c.msg)
        let sigBytes = try Decode.hex(c.sig)
        // A signature of any other length than 64 bytes cannot be a Bytes64: Totem's decoders
        // refuse it before verification, which is its rejection. Wycheproof marks all such invalid.
        guard let publicKey = Bytes32(try Decode.hex(c.publicKey)), let signature = Bytes64(sigBytes) else {
            #expect(c.result == "invalid", "\(c): a valid vector has a key or signature of the wrong length")
            return
        }
        let accepted = Ed25519.verifyRaw(signature, message: message, publicKey: publicKey)
        #expect(accepted == (c.result == "valid"), "\(c) \(c.comment)")
    }

    @Test func wycheproofFileIsComplete() throws {
        let cases = try WycheproofCase.all()
        #expect(cases.count == 151)
        #expect(cases.filter { $0.result == "valid" }.count == 88)
        #expect(cases.allSatisfy { $0.result == "valid" || $0.result == "invalid" })
    }

    /// RFC 8032 section 7.1, TEST 1, 2 and 3 (the RFC's "SECRET KEY" is the 32-byte seed).
    @Test(arguments: [
        RFC8032Vector(name: "TEST 1",
                      seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                      publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                      message: "",
                      signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        RFC8032Vector(name: "TEST 2",
                      seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                      publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                      message: "72",
                      signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        RFC8032Vector(name: "TEST 3",
                      seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                      publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                      message: "af82",
                      signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ])
    func rfc8032(_ v: RFC8032Vector) throws {
        let key = SigningKey(seed: try Decode.bytes32(v.seed))
        let message = try Decode.hex(v.message)
        guard let expected = Bytes64(hex: v.signature) else { throw TestDataError("bad signature in \(v.name)") }
        #expect(key.publicKey.hex == v.publicKey)
        let signature = key.signRaw(message)
        #expect(signature == expected)
        #expect(Ed25519.verifyRaw(signature, message: message, publicKey: key.publicKey))
        #expect(!Ed25519.verifyRaw(signature, message: message + [0], publicKey: key.publicKey))
        var tampered = signature.bytes
        tampered[0] ^= 0x01
        #expect(!Ed25519.verifyRaw(Bytes64(tampered) ?? .zero, message: message, publicKey: key.publicKey))
    }
}

struct RFC8032Vector: Sendable, CustomTestStringConvertible {
    let name: String, seed: String, publicKey: String, message: String, signature: String
    var testDescription: String { "RFC 8032 \(name)" }
}

/// One Wycheproof test with its group's public key.
struct WycheproofCase: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    let tcId: Int
    let publicKey: String
    let msg: String
    let sig: String
    let result: String
    let comment: String

    var description: String { "Wycheproof tcId \(tcId)" }
    var testDescription: String { "tcId \(tcId) (\(result))" }

    static func all() throws -> [WycheproofCase] {
        let file = try JSONDecoder().decode(File.self, from: TestData.data("wycheproof/ed25519_test.json"))
        let cases = file.testGroups.flatMap { group in
            group.tests.map {
                WycheproofCase(tcId: $0.tcId, publicKey: group.publicKey.pk, msg: $0.msg, sig: $0.sig,
                               result: $0.result, comment: $0.comment)
            }
        }
        guard !cases.isEmpty, cases.count == file.numberOfTests else {
            throw TestDataError("wycheproof/ed25519_test.json: \(cases.count) tests, header says \(file.numberOfTests)")
        }
        return cases
    }

    private struct File: Decodable {
        let numberOfTests: Int
        let testGroups: [Group]
    }
    private struct Group: Decodable {
        let publicKey: Key
        let tests: [Test]
    }
    private struct Key: Decodable { let pk: String }
    private struct Test: Decodable {
        let tcId: Int
        let comment: String
        let msg: String
        let sig: String
        let result: String
    }
}

import Foundation
import Testing
import TotemCrypto

/// `SigningDomain.message` and signatures through it, against the protocol vectors of
/// totem/vectors.json (made by an independent Python reference).
@Suite struct SigningDomainTests {
    /// Every vote: the signing message is `domain || 0x00 || genesisHash || height | view | blockHash`,
    /// the listed validator key is the one derived from its seed, its signature verifies (only in
    /// its own domain), and signing again reproduces it (Ed25519 is deterministic).
    @Test func votes() throws {
        let vectors = try TestData.jsonObject("totem/vectors.json")
        guard let votes = vectors["votes"] as? [[String: Any]], !votes.isEmpty,
              let keys = vectors["keys"] as? [[String: Any]] else {
            throw TestDataError("totem/vectors.json lacks votes or keys")
        }
        for (n, vote) in votes.enumerated() {
            guard let phase = vote["phase"] as? String,
                  let seedIndex = vote["validatorSeedIndex"] as? Int, keys.indices.contains(seedIndex),
                  let height = (vote["height"] as? NSNumber)?.uint64Value,
                  let view = (vote["view"] as? NSNumber)?.uint32Value else {
                throw TestDataError("votes[\(n)] is missing fields")
            }
            let domain: SigningDomain = phase == "commit" ? .commit : .prepare
            let other: SigningDomain = phase == "commit" ? .prepare : .commit
            let genesisHash = try Decode.bytes32(vote["genesisHash"] as? String ?? "")
            let blockHash = try Decode.bytes32(vote["blockHash"] as? String ?? "")
            var body = [UInt8]()
            withUnsafeBytes(of: height.bigEndian) { body.append(contentsOf: $0) }
            withUnsafeBytes(of: view.bigEndian) { body.append(contentsOf: $0) }
            blockHash.append(to: &body)

            let message = domain.message(genesisHash: genesisHash, body: body)
            #expect(Hex.encode(message) == vote["message"] as? String, "votes[\(n)] message")

            let key = SigningKey(seed: try Decode.bytes32(keys[seedIndex]["seed"] as? String ?? ""))
            let publicKey = try Decode.bytes32(vote["validatorPublicKey"] as? String ?? "")
            #expect(key.publicKey == publicKey, "votes[\(n)] key")
            guard let signature = Bytes64(hex: vote["signature"] as? String ?? "") else {
                throw TestDataError("votes[\(n)] has no 64-byte signature")
            }
            #expect(Ed25519.verify(signature, domain, genesisHash: genesisHash, body: body, publicKey: publicKey))
            #expect(!Ed25519.verify(signature, other, genesisHash: genesisHash, body: body, publicKey: publicKey))
            #expect(!Ed25519.verify(signature, domain, genesisHash: blockHash, body: body, publicKey: publicKey))
            #expect(key.sign(domain, genesisHash: genesisHash, body: body) == signature)
        }
        #expect(votes.count == 4)
    }

    /// The public domains' prefixes (`domain || 0x00`) are exactly the vectors'.
    @Test func domainPrefixes() throws {
        let vectors = try TestData.jsonObject("totem/vectors.json")
        guard let domains = vectors["domains"] as? [String: String] else {
            throw TestDataError("totem/vectors.json lacks domains")
        }
        let cases: [(String, SigningDomain)] = [("tx", .tx), ("prepare", .prepare), ("commit", .commit)]
        for (name, domain) in cases {
            let prefix = domain.message(genesisHash: .zero, body: [UInt8]()).dropLast(32)
            #expect(Hex.encode(prefix) == domains[name], "domain \(name)")
        }
        // No two roles share a domain, and since a domain holds no NUL, the 0x00 after it makes
        // one domain's signed bytes never a prefix of another's.
        let all = SigningDomain.allCases.map { Array($0.rawValue.utf8) }
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { !$0.contains(0) })
        #expect(SigningDomain.allCases.allSatisfy { $0.rawValue.hasPrefix("totem/") })
    }

    /// Every transaction of the vector chain: the signing message is the tx domain over its Tx
    /// bytes, and the sender's signature verifies and is reproduced.
    @Test func transactionSignatures() throws {
        let vectors = try TestData.jsonObject("totem/vectors.json")
        guard let transactions = vectors["transactions"] as? [[String: Any]], !transactions.isEmpty,
              let keys = vectors["keys"] as? [[String: Any]],
              let genesisHex = vectors["genesisHash"] as? String else {
            throw TestDataError("totem/vectors.json lacks transactions, keys or genesisHash")
        }
        let genesisHash = try Decode.bytes32(genesisHex)
        for tx in transactions {
            let name = tx["name"] as? String ?? "?"
            guard let seedIndex = tx["signerSeedIndex"] as? Int, keys.indices.contains(seedIndex),
                  let signature = Bytes64(hex: tx["signature"] as? String ?? "") else {
                throw TestDataError("transaction \(name) is missing fields")
            }
            let body = try Decode.hex(tx["tx"] as? String ?? "")
            let key = SigningKey(seed: try Decode.bytes32(keys[seedIndex]["seed"] as? String ?? ""))
            #expect(Hex.encode(SigningDomain.tx.message(genesisHash: genesisHash, body: body))
                    == tx["signingMessage"] as? String, "\(name)")
            #expect(Ed25519.verify(signature, .tx, genesisHash: genesisHash, body: body, publicKey: key.publicKey),
                    "\(name)")
            #expect(key.sign(.tx, genesisHash: genesisHash, body: body) == signature, "\(name)")
            // SignedTx = Tx | signature, and txHash is its SHA-256.
            let signedTx = try Decode.hex(tx["signedTx"] as? String ?? "")
            #expect(signedTx == body + signature.bytes, "\(name)")
            #expect(SHA256.hash(signedTx).hex == tx["txHash"] as? String, "\(name)")
        }
        #expect(transactions.count == 16)
    }
}

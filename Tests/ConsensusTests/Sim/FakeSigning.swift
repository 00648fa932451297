import TotemCrypto
@testable import Consensus

/// A cheap deterministic stand-in for Ed25519 inside the simulator: a validator's "signature" is a
/// keyed hash with a secret only its own signer holds. The secrets live in `FakeKeyring`, which
/// hands each signer out once at setup and otherwise only verifies; Byzantine code is given its own
/// `FakeSigner` and never the keyring, so it cannot produce an honest validator's signature.
struct FakeKeyring: Sendable {
    private let secrets: [Bytes32: Bytes32]
    let publicKeys: [Bytes32]

    init(seed: UInt64, count: Int) {
        var secrets = [Bytes32: Bytes32]()
        var keys = [Bytes32]()
        for i in 0..<count {
            let pk = SHA256.hash(Array("sim public key \(seed) \(i)".utf8))
            secrets[pk] = SHA256.hash(Array("sim secret \(seed) \(i)".utf8))
            keys.append(pk)
        }
        self.secrets = secrets
        self.publicKeys = keys.sorted()
    }

    /// The signer of validator `index` (in key order). Called by the simulator when it builds nodes.
    func signer(_ index: Int) -> FakeSigner {
        let pk = publicKeys[index]
        return FakeSigner(publicKey: pk, secret: secrets[pk] ?? .zero)
    }

    var verifier: FakeVerifier { FakeVerifier(keyring: self) }

    fileprivate func secret(of key: Bytes32) -> Bytes32? { secrets[key] }
}

struct FakeSigner: VoteSigner {
    let publicKey: Bytes32
    fileprivate let secret: Bytes32

    func sign(_ domain: SigningDomain, body: [UInt8]) -> Bytes64 { FakeSigner.mac(secret, domain, body) }

    fileprivate static func mac(_ secret: Bytes32, _ domain: SigningDomain, _ body: [UInt8]) -> Bytes64 {
        var h = Hasher256()
        h.update(secret)
        h.update(Array(domain.rawValue.utf8))
        h.update(body)
        return Bytes64(high: h.finalize(), low: .zero)
    }
}

struct FakeVerifier: SignatureVerifier {
    let keyring: FakeKeyring

    func verify(_ signature: Bytes64, _ domain: SigningDomain, body: [UInt8], publicKey: Bytes32) -> Bool {
        guard let secret = keyring.secret(of: publicKey) else { return false }
        return FakeSigner.mac(secret, domain, body) == signature
    }
}

import CSodium

/// An Ed25519 key pair (RFC 8032), derived from its 32-byte seed.
public struct SigningKey: Sendable {
    public let seed: Bytes32
    public let publicKey: Bytes32
    /// libsodium's 64-byte secret key: seed || public key.
    private let secret: [UInt8]

    public init(seed: Bytes32) {
        _ = Sodium.ready
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        let rc = seed.withUnsafeBytes { s in
            crypto_sign_seed_keypair(&pk, &sk, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        precondition(rc == 0, "crypto_sign_seed_keypair failed")
        self.seed = seed
        self.publicKey = Bytes32(pk)!
        self.secret = sk
    }

    /// A fresh key pair from the operating system's CSPRNG.
    public static func generate() -> SigningKey {
        SigningKey(seed: Bytes32(SecureRandom.bytes(32))!)
    }

    /// Signs `body` in `domain` on the chain with `genesisHash`: the only way Totem signs.
    public func sign<C: Collection>(_ domain: SigningDomain, genesisHash: Bytes32, body: C) -> Bytes64
    where C.Element == UInt8 {
        signRaw(domain.message(genesisHash: genesisHash, body: body))
    }

    /// Signs raw bytes. Internal: everything outside this module signs through a domain.
    func signRaw(_ message: [UInt8]) -> Bytes64 {
        var sig = [UInt8](repeating: 0, count: 64)
        let rc = secret.withUnsafeBufferPointer { sk in
            crypto_sign_detached(&sig, nil, message, UInt64(message.count), sk.baseAddress!)
        }
        precondition(rc == 0, "crypto_sign_detached failed")
        return Bytes64(sig)!
    }
}

public enum Ed25519 {
    /// Strict verification (libsodium: canonical S, no small-order keys or R) of a signature over
    /// `body` in `domain` on the chain with `genesisHash`.
    public static func verify<C: Collection>(_ signature: Bytes64, _ domain: SigningDomain, genesisHash: Bytes32,
                                             body: C, publicKey: Bytes32) -> Bool where C.Element == UInt8 {
        verifyRaw(signature, message: domain.message(genesisHash: genesisHash, body: body), publicKey: publicKey)
    }

    /// Verifies a signature over raw bytes. Internal: conformance tests use it with @testable.
    static func verifyRaw(_ signature: Bytes64, message: [UInt8], publicKey: Bytes32) -> Bool {
        _ = Sodium.ready
        return signature.withUnsafeBytes { s in
            publicKey.withUnsafeBytes { k in
                message.withUnsafeBufferPointer { m in
                    crypto_sign_verify_detached(s.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                m.baseAddress, UInt64(m.count),
                                                k.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
                }
            }
        }
    }
}

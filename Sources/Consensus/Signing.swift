import TotemCrypto

/// Signs consensus message bodies for one validator. The replica signs only through this.
public protocol VoteSigner: Sendable {
    var publicKey: Bytes32 { get }
    func sign(_ domain: SigningDomain, body: [UInt8]) -> Bytes64
}

/// Checks a signature by `publicKey` over `body` in `domain`.
public protocol SignatureVerifier: Sendable {
    func verify(_ signature: Bytes64, _ domain: SigningDomain, body: [UInt8], publicKey: Bytes32) -> Bool
}

/// The production signer: Ed25519 over `domain || 0x00 || genesisHash || body` (PROTOCOL.md).
public struct Ed25519VoteSigner: VoteSigner {
    public let key: SigningKey
    public let genesisHash: Bytes32
    public var publicKey: Bytes32 { key.publicKey }

    public init(key: SigningKey, genesisHash: Bytes32) {
        self.key = key
        self.genesisHash = genesisHash
    }

    public func sign(_ domain: SigningDomain, body: [UInt8]) -> Bytes64 {
        key.sign(domain, genesisHash: genesisHash, body: body)
    }
}

/// The production verifier: strict Ed25519 (libsodium) on this chain's genesis hash.
public struct Ed25519SignatureVerifier: SignatureVerifier {
    public let genesisHash: Bytes32

    public init(genesisHash: Bytes32) { self.genesisHash = genesisHash }

    public func verify(_ signature: Bytes64, _ domain: SigningDomain, body: [UInt8], publicKey: Bytes32) -> Bool {
        Ed25519.verify(signature, domain, genesisHash: genesisHash, body: body, publicKey: publicKey)
    }
}

import ChainModel
import TotemCrypto

/// A small chain for tests that run a real `ChainService`: four validators with keys derived from
/// `label`, and a genesis with the standard parameters.
enum TestChain {
    static func validatorKeys(_ label: String) -> [SigningKey] {
        (1...4).map { SigningKey(seed: SHA256.hash(Array("\(label) \($0)".utf8))) }
    }

    static func genesis(chainId: String, keys: [SigningKey]) throws -> Genesis {
        let validators = keys.enumerated().map {
            GenesisValidator(name: "v\($0.offset)", publicKey: $0.element.publicKey, p2pAddress: "127.0.0.1:\(1000 + $0.offset)")
        }
        return try Genesis.build(chainId: chainId, genesisTimeMs: 1_700_000_000_000,
                                 rootRegistrar: SigningKey(seed: SHA256.hash(Array("root".utf8))).publicKey,
                                 registrars: [], validators: validators, params: .standard)
    }
}

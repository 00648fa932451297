import ChainModel
import TotemCrypto
@testable import Consensus

/// Deterministic Ed25519 keys for transcripts, named r0, r1, ... in ascending public-key order, so
/// `r<i>` is validator index i of any set made of the first names.
struct TestKeys: Sendable {
    static let genesisHash = SHA256.hash(Array("totem transcript genesis".utf8))
    let keys: [SigningKey]

    init(count: Int) {
        let all = (0..<count).map { i in
            SigningKey(seed: SHA256.hash(Array("totem transcript validator \(i)".utf8)))
        }
        keys = all.sorted { $0.publicKey < $1.publicKey }
    }

    func key(_ name: String) -> SigningKey? {
        guard name.hasPrefix("r"), let i = Int(name.dropFirst()), i >= 0, i < keys.count else { return nil }
        return keys[i]
    }

    func name(of publicKey: Bytes32) -> String {
        keys.firstIndex { $0.publicKey == publicKey }.map { "r\($0)" } ?? "?\(publicKey.hex.prefix(8))"
    }

    func signer(_ name: String) -> Ed25519VoteSigner? {
        key(name).map { Ed25519VoteSigner(key: $0, genesisHash: Self.genesisHash) }
    }

    func set(_ names: [String]) -> ValidatorSet? {
        var out = [Bytes32]()
        for n in names {
            guard let k = key(n) else { return nil }
            out.append(k.publicKey)
        }
        return ValidatorSet(out)
    }
}

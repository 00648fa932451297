import TotemCrypto

/// `stateRoot = SHA-256("totem/state/v1" || 0x00 || parent's stateRoot || changesHash)`; block 1's
/// parent stateRoot is the genesis hash. Two nodes whose states diverge disagree on the very block
/// where it happened.
public enum StateRoot {
    public static let domain = "totem/state/v1"

    public static func next(parent: Bytes32, changesHash: Bytes32) -> Bytes32 {
        var h = Hasher256()
        h.update(Array(domain.utf8))
        h.update(byte: 0)
        h.update(parent)
        h.update(changesHash)
        return h.finalize()
    }
}

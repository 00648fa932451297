import TotemCrypto

/// The last committed block as the `meta` database records it.
public struct ChainTip: Sendable, Equatable, CustomStringConvertible {
    /// Height of the last committed block; 0 before block 1.
    public let height: UInt64
    /// Hash of the last committed block; the genesis hash before block 1.
    public let lastBlockHash: Bytes32
    /// State root after the last committed block; the genesis hash before block 1.
    public let stateRoot: Bytes32

    public init(height: UInt64, lastBlockHash: Bytes32, stateRoot: Bytes32) {
        self.height = height
        self.lastBlockHash = lastBlockHash
        self.stateRoot = stateRoot
    }

    public var description: String { "height \(height) block \(lastBlockHash) state \(stateRoot)" }
}

import ChainModel
import TotemCrypto

/// What the replica needs to know of a block. The chain's `Block` conforms (its hash is the
/// header hash); the simulator uses a small fake.
public protocol ConsensusBlock: Sendable {
    /// The block hash that votes sign. Must be a function of the block: one block, one hash.
    var hash: Bytes32 { get }
    var height: UInt64 { get }
    var parentHash: Bytes32 { get }
}

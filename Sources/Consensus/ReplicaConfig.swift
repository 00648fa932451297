import ChainModel
import TotemCrypto

/// Consensus parameters from genesis (they must agree across nodes, so they live nowhere else).
public struct ReplicaConfig: Sendable, Hashable {
    public var proposalTimeoutMs: UInt64
    public var maxProposalTimeoutMs: UInt64
    public var emptyBlockIntervalMs: UInt64

    public init(proposalTimeoutMs: UInt64, maxProposalTimeoutMs: UInt64, emptyBlockIntervalMs: UInt64) {
        precondition(proposalTimeoutMs > 0 && proposalTimeoutMs <= maxProposalTimeoutMs, "genesis checks the timeouts")
        self.proposalTimeoutMs = proposalTimeoutMs
        self.maxProposalTimeoutMs = maxProposalTimeoutMs
        self.emptyBlockIntervalMs = emptyBlockIntervalMs
    }

    /// `proposalTimeoutMs * 2^view`, capped at `maxProposalTimeoutMs`.
    public func viewTimeoutMs(_ view: UInt32) -> UInt64 {
        var t = proposalTimeoutMs
        var v = view
        while v > 0 && t < maxProposalTimeoutMs {
            t = t > maxProposalTimeoutMs / 2 ? maxProposalTimeoutMs : t * 2
            v -= 1
        }
        return min(t, maxProposalTimeoutMs)
    }
}

/// Where the chain stands when a replica is built: the next height to decide, its parent, the
/// parent's commit certificate (to answer replicas left behind; nil at genesis) and the validator
/// sets in force at that height and the one after.
public struct ChainPosition: Sendable {
    public var height: UInt64
    public var parentHash: Bytes32
    public var parentCertificate: QuorumCertificate?
    public var validators: ValidatorSet
    public var nextValidators: ValidatorSet
    /// The proposers of the recent heights (`LeaderRotation.neededHeights`) and the first height
    /// of the set in force: who leads each view. Without history, the base rotation.
    public var rotation: LeaderRotation

    public init(height: UInt64, parentHash: Bytes32, parentCertificate: QuorumCertificate?,
                validators: ValidatorSet, nextValidators: ValidatorSet,
                rotation: LeaderRotation = LeaderRotation(setFromHeight: 1)) {
        self.height = height; self.parentHash = parentHash; self.parentCertificate = parentCertificate
        self.validators = validators; self.nextValidators = nextValidators
        self.rotation = rotation
    }
}

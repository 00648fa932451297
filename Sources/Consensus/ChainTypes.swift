import ChainModel
import TotemCrypto

/// The leader rule of DESIGN.md on the chain's validator set (keys sorted ascending).
extension ValidatorSet {
    /// The leader of `(height, view)`: `V[(height + view) mod n]`, computed without overflow.
    public func leader(height: UInt64, view: UInt32) -> Bytes32 {
        let n = UInt64(keys.count)
        return keys[Int((height % n + UInt64(view) % n) % n)]
    }
}

/// The chain's block is what the replica decides (its hash is the header hash).
extension Block: ConsensusBlock {
    public var parentHash: Bytes32 { header.parentHash }
}

extension QuorumCertificate {
    /// The chain's form of a commit certificate (PROTOCOL.md), stored with the block.
    public var commitCertificate: CommitCertificate {
        precondition(phase == .commit, "only commit certificates are stored with blocks")
        return CommitCertificate(height: height, view: view, signatures: signatures)
    }

    /// A commit certificate read from the store, for the block with `blockHash`.
    public init(_ c: CommitCertificate, blockHash: Bytes32) {
        self.init(phase: .commit, height: c.height, view: c.view, blockHash: blockHash, signatures: c.signatures)
    }
}

extension Evidence {
    /// The payload of the SubmitEvidence transaction (PROTOCOL.md kind 11) the node submits.
    public var submitEvidence: SubmitEvidence {
        SubmitEvidence(phase: phase, validator: validator, height: height, view: view,
                       blockHashA: blockHashA, signatureA: signatureA, blockHashB: blockHashB, signatureB: signatureB)
    }
}

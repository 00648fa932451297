import TotemCrypto
@testable import Consensus

/// A block for tests: a label, a height, a parent and a validity bit the fake proposal check reads
/// (the simulator and the transcript harness answer `checkProposal` with it).
/// The hash is computed once at construction. `proposer` stands for the header's field the leader
/// rotation reads (`AppliedBlock.proposer`); zero (left out of the hash) where a test does not care.
/// `timestampMs` stands for the header's time (the simulator's clock-drift check reads it); zero,
/// also left out of the hash, where a test has no clocks.
struct TestBlock: ConsensusBlock, Hashable {
    let height: UInt64
    let parentHash: Bytes32
    let label: UInt64
    let valid: Bool
    let proposer: Bytes32
    let timestampMs: UInt64
    let hash: Bytes32

    init(height: UInt64, parentHash: Bytes32, label: UInt64, valid: Bool = true, proposer: Bytes32 = .zero,
         timestampMs: UInt64 = 0) {
        self.height = height
        self.parentHash = parentHash
        self.label = label
        self.valid = valid
        self.proposer = proposer
        self.timestampMs = timestampMs
        var h = Hasher256()
        var body = [UInt8]()
        SigningBody.append(height, to: &body)
        SigningBody.append(label, to: &body)
        body.append(valid ? 1 : 0)
        h.update(body)
        h.update(parentHash)
        if proposer != .zero { h.update(proposer) }
        if timestampMs != 0 {
            var time = [UInt8]()
            SigningBody.append(timestampMs, to: &time)
            h.update(time)
        }
        self.hash = h.finalize()
    }
}

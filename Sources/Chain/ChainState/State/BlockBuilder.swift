import ChainModel
import TotemCrypto

/// A candidate the builder left out because it does not apply: the mempool drops it (or, for a
/// nonce above the next one, keeps waiting for the gap to fill).
public struct RejectedTx: Sendable, Equatable {
    /// Position in the candidates given to the builder.
    public let candidateIndex: Int
    public let txHash: Bytes32
    public let error: TxError
}

/// A proposal: the block with its header computed, its outcome, and what was left out.
public struct BuiltBlock: Sendable {
    public let block: Block
    public let outcome: BlockOutcome
    public let rejected: [RejectedTx]
    /// Index of the first candidate not tried because the block was full (`candidates.count` when
    /// every candidate was tried). Those stay in the mempool.
    public let firstUntried: Int
}

extension StateMachine {
    /// Builds the child of `parent` from `candidates` in order (the mempool's arrival order),
    /// keeping those that apply, up to `maxBlockTxs` and `maxBlockBytes`. The block is full at the
    /// first candidate that does not fit: later ones are not tried, so a sender's txs are never
    /// taken out of order. `timestampMs` is raised to the earliest valid time if below it. The block
    /// is also full when `timeIsUp` answers true before a candidate (asked once at least one is in):
    /// the caller bounds how long a build takes, whatever the candidates cost to apply.
    public func buildBlock<S: StateReader>(candidates: [SignedTx], parent: ParentInfo, state: S, timestampMs: UInt64,
                                           view: UInt32, proposer: Bytes32,
                                           signatures: SignatureCheck = .alreadyVerified,
                                           timeIsUp: () -> Bool = { false }) -> BuiltBlock {
        let height = parent.height + 1
        let time = max(timestampMs, minimumTimestampMs(after: parent))
        var overlay = OverlayState(base: state)
        beginBlock(height: height, &overlay)
        var included = [SignedTx]()
        var rejected = [RejectedTx]()
        var txBytes = 0
        var firstUntried = candidates.count
        for (i, stx) in candidates.enumerated() {
            if included.count >= config.maxBlockTxs || (!included.isEmpty && timeIsUp()) {
                firstUntried = i
                break
            }
            if blockBytes(txBytes: txBytes + stx.bytes.count, txCount: included.count + 1) > config.maxBlockBytes {
                if blockBytes(txBytes: stx.bytes.count, txCount: 1) > config.maxBlockBytes {
                    let e = TxError(.txTooLarge, "tx of \(stx.bytes.count) bytes fits in no block of \(config.maxBlockBytes) bytes")
                    rejected.append(RejectedTx(candidateIndex: i, txHash: stx.hash, error: e))
                    continue
                }
                firstUntried = i
                break
            }
            let ctx = TxContext(height: height, timestampMs: time, index: UInt32(included.count))
            do {
                try apply(stx, context: ctx, to: &overlay, signature: signatures)
                included.append(stx)
                txBytes += stx.bytes.count
            } catch {
                rejected.append(RejectedTx(candidateIndex: i, txHash: stx.hash, error: error))
            }
        }
        let outcome = finishBlock(height: height, parentStateRoot: parent.stateRoot, overlay)
        let header = Header(chainId: config.chainId, height: height, view: view, timestampMs: time,
                            parentHash: parent.hash, txRoot: Block.txRoot(included), txCount: UInt32(included.count),
                            stateRoot: outcome.stateRoot, validatorSetHash: outcome.validators.hash,
                            nextValidatorSetHash: outcome.nextValidators.hash, proposer: proposer)
        return BuiltBlock(block: Block(header: header, txs: included), outcome: outcome, rejected: rejected,
                          firstUntried: firstUntried)
    }
}

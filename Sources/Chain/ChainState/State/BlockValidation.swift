import ChainModel
import TotemCrypto

/// What a block's validation needs of its parent: for block 1, `StateMachine.genesisParent`.
public struct ParentInfo: Sendable, Equatable {
    public var height: UInt64
    public var hash: Bytes32
    public var timestampMs: UInt64
    public var stateRoot: Bytes32

    public init(height: UInt64, hash: Bytes32, timestampMs: UInt64, stateRoot: Bytes32) {
        self.height = height; self.hash = hash; self.timestampMs = timestampMs; self.stateRoot = stateRoot
    }

    public init(header: Header) {
        self.init(height: header.height, hash: header.hash, timestampMs: header.timestampMs, stateRoot: header.stateRoot)
    }
}

/// The result of applying a valid block: the changes for the store and the values its header names.
public struct BlockOutcome: Sendable, Equatable {
    public let changes: StateChanges
    public let changesHash: Bytes32
    public let stateRoot: Bytes32
    /// The set in force at the block's height.
    public let validators: ValidatorSet
    /// The set in force at the next height (what `nextValidatorSetHash` names).
    public let nextValidators: ValidatorSet
}

extension StateMachine {
    /// The parent of block 1: height 0, hash and state root the genesis hash, time the genesis time.
    public var genesisParent: ParentInfo {
        ParentInfo(height: 0, hash: config.genesisHash, timestampMs: config.genesisTimeMs, stateRoot: config.genesisHash)
    }

    /// The earliest valid timestamp of the child of `parent` (block 1: the genesis time).
    public func minimumTimestampMs(after parent: ParentInfo) -> UInt64 {
        if parent.height == 0 { return config.genesisTimeMs }
        return parent.timestampMs == UInt64.max ? UInt64.max : parent.timestampMs + 1
    }

    /// Size of `Block.encoded` for a header of this chain and these txs, without encoding it.
    func blockBytes(txBytes: Int, txCount: Int) -> Int {
        // version, chainId length, height, view, timestamp, 4 hashes of 32, txCount, 4 hashes of 32
        let headerBytes = 1 + 4 + config.chainId.utf8.count + 8 + 4 + 8 + 32 + 32 + 4 + 32 * 4
        return headerBytes + 4 + 4 * txCount + txBytes
    }

    /// Validates `block` as the child of `parent` on `state` (the state after the parent) and
    /// returns its changes. Valid only if every tx applies in order and the header names exactly
    /// the resulting tx root, state root and validator sets. The clock-drift rule is separate
    /// (`checkClockDrift`): it needs the local clock.
    public func apply<S: StateReader>(_ block: Block, parent: ParentInfo, state: S,
                                      signatures: SignatureCheck = .verify) -> Result<BlockOutcome, BlockError> {
        do throws(BlockError) {
            try checkHeader(block, parent: parent)
            var overlay = OverlayState(base: state)
            beginBlock(height: block.height, &overlay)
            let h = block.header
            for (i, stx) in block.txs.enumerated() {
                let ctx = TxContext(height: h.height, timestampMs: h.timestampMs, index: UInt32(i))
                do throws(TxError) {
                    try apply(stx, context: ctx, to: &overlay, signature: signatures)
                } catch {
                    throw BlockError(txIndex: i, txHash: stx.hash.hex, error)
                }
            }
            let outcome = finishBlock(height: h.height, parentStateRoot: parent.stateRoot, overlay)
            try checkResults(h, outcome)
            return .success(outcome)
        } catch {
            return .failure(error)
        }
    }

    /// Refuses a header whose time is more than `maxClockDriftMs` from the local clock, ahead or
    /// behind. Consensus applies it to fresh proposals only (not to re-proposals).
    public func checkClockDrift(timestampMs: UInt64, nowMs: UInt64) throws(BlockError) {
        let drift = timestampMs > nowMs ? timestampMs - nowMs : nowMs - timestampMs
        guard drift <= config.maxClockDriftMs else {
            throw BlockError(.blockClockDrift,
                             "block time \(timestampMs) ms is \(drift) ms from the local clock (limit \(config.maxClockDriftMs) ms)")
        }
    }

    private func checkHeader(_ block: Block, parent: ParentInfo) throws(BlockError) {
        let h = block.header
        guard h.chainId.utf8.elementsEqual(config.chainId.utf8) else {
            throw BlockError(.blockChainId, "block is for chain \"\(h.chainId)\", this chain is \"\(config.chainId)\"")
        }
        guard parent.height < UInt64.max, h.height == parent.height + 1 else {
            throw BlockError(.blockHeight, "block height \(h.height) does not follow parent height \(parent.height)")
        }
        guard h.parentHash == parent.hash else {
            throw BlockError(.blockParentHash, "parentHash \(h.parentHash) is not the parent's hash \(parent.hash)")
        }
        let minimum = minimumTimestampMs(after: parent)
        guard h.timestampMs >= minimum, parent.height == 0 || h.timestampMs > parent.timestampMs else {
            throw BlockError(.blockTimestamp, "block time \(h.timestampMs) ms is before the earliest allowed \(minimum) ms")
        }
        guard Int(h.txCount) == block.txs.count else {
            throw BlockError(.blockTxCount, "header says \(h.txCount) txs, the block has \(block.txs.count)")
        }
        guard block.txs.count <= config.maxBlockTxs else {
            throw BlockError(.blockTooManyTxs, "\(block.txs.count) txs, the limit is \(config.maxBlockTxs)")
        }
        let bytes = blockBytes(txBytes: block.txs.reduce(0) { $0 + $1.bytes.count }, txCount: block.txs.count)
        guard bytes <= config.maxBlockBytes else {
            throw BlockError(.blockTooLarge, "block is \(bytes) bytes, the limit is \(config.maxBlockBytes)")
        }
        let root = Block.txRoot(block.txs)
        guard h.txRoot == root else {
            throw BlockError(.blockTxRoot, "txRoot \(h.txRoot) is not the root of the block's txs \(root)")
        }
    }

    private func checkResults(_ h: Header, _ outcome: BlockOutcome) throws(BlockError) {
        guard h.validatorSetHash == outcome.validators.hash else {
            throw BlockError(.blockValidatorSetHash,
                             "validatorSetHash \(h.validatorSetHash) is not the set in force \(outcome.validators.hash)")
        }
        guard h.nextValidatorSetHash == outcome.nextValidators.hash else {
            throw BlockError(.blockNextValidatorSetHash,
                             "nextValidatorSetHash \(h.nextValidatorSetHash) is not the next set \(outcome.nextValidators.hash)")
        }
        guard h.stateRoot == outcome.stateRoot else {
            throw BlockError(.blockStateRoot, "stateRoot \(h.stateRoot) is not the computed \(outcome.stateRoot)")
        }
    }

    /// Before the first tx of block `height`: sets whose time has come are now in force.
    func beginBlock<S: StateReader>(height: UInt64, _ state: inout OverlayState<S>) {
        var record = state.validatorSetRecord()
        if record.advance(to: height) { state.put(record, .validators, StateKeys.validatorSet) }
    }

    func finishBlock<S: StateReader>(height: UInt64, parentStateRoot: Bytes32, _ state: OverlayState<S>) -> BlockOutcome {
        let record = state.validatorSetRecord()
        var changes = state.changes
        changes.seal()  // sorted once: for the hash here and for the store's write
        let changesHash = changes.hash
        return BlockOutcome(changes: changes, changesHash: changesHash,
                            stateRoot: StateRoot.next(parent: parentStateRoot, changesHash: changesHash),
                            validators: record.inForce(at: height).set,
                            nextValidators: record.inForce(at: height + 1).set)
    }
}

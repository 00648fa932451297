import ChainModel
import TotemCrypto

/// The pure chain state machine: validates and applies transactions and blocks against a
/// `StateReader`, producing `StateChanges` for the store to write. No I/O, clock or randomness;
/// the same inputs give the same changes on every node.
public struct StateMachine: Sendable {
    public let config: ChainConfig

    public init(config: ChainConfig) { self.config = config }
}

/// Where a transaction is applied: the block's height and time, and its position in the block.
public struct TxContext: Sendable, Equatable {
    public var height: UInt64
    public var timestampMs: UInt64
    /// The tx's position in its block (its leaf index).
    public var index: UInt32

    public init(height: UInt64, timestampMs: UInt64, index: UInt32) {
        self.height = height; self.timestampMs = timestampMs; self.index = index
    }
}

/// Whether the state machine verifies senders' signatures. A node verifies each signature once:
/// the mempool (or a parallel pass over a proposed block) does it, and says so here.
public enum SignatureCheck: Sendable {
    case verify
    case alreadyVerified
    /// Verifies every tx whose hash is not in the set.
    case verifyUnlessIn(Set<Bytes32>)

    /// Verifies `txs` on all cores first; those that fail are verified again, in order, when
    /// applied, so a block reports its first failing tx with the usual error.
    public static func verifiedInParallel(_ txs: [SignedTx], genesisHash: Bytes32) -> SignatureCheck {
        let ok = ParallelVerifier.verify(txs, genesisHash: genesisHash)
        if !ok.contains(false) { return .alreadyVerified }
        return .verifyUnlessIn(Set(txs.indices.lazy.filter { ok[$0] }.map { txs[$0].hash }))
    }

    func needsVerification(_ txHash: Bytes32) -> Bool {
        switch self {
        case .verify: true
        case .alreadyVerified: false
        case .verifyUnlessIn(let done): !done.contains(txHash)
        }
    }
}

extension StateMachine {
    /// The initial state: the genesis registrars and validator set. Not hashed into any state
    /// root: block 1's parent state root is the genesis hash, which covers the genesis file.
    public func genesisChanges() -> StateChanges {
        var changes = StateChanges()
        for r in config.registrars {
            changes.put(.registrars, StateKeys.key(r.publicKey), RegistrarRecord(name: r.name, addedAtHeight: 0).encoded)
        }
        let epoch = ValidatorEpoch(fromHeight: 1, members: config.validators)
        changes.put(.validators, StateKeys.validatorSet, ValidatorSetRecord(epochs: [epoch]).encoded)
        let history = ValidatorHistory(entries: [.init(fromHeight: 1, set: epoch.set)])
        changes.put(.validators, StateKeys.validatorHistory, history.encoded)
        return changes
    }

    /// Validates `stx` against `state` and writes its effects into it. On error nothing is written:
    /// every handler checks everything before its first write.
    public func apply<S: StateReader>(_ stx: SignedTx, context: TxContext, to state: inout OverlayState<S>,
                                      signature: SignatureCheck) throws(TxError) {
        let tx = stx.tx
        guard tx.chainId.utf8.elementsEqual(config.chainId.utf8) else {
            throw TxError(.wrongChainId, "tx is for chain \"\(tx.chainId)\", this chain is \"\(config.chainId)\"")
        }
        guard stx.bytes.count <= config.maxTxBytes else {
            throw TxError(.txTooLarge, "tx is \(stx.bytes.count) bytes, the limit is \(config.maxTxBytes)")
        }
        let last = state.lastNonce(tx.sender)
        guard last < UInt64.max, tx.nonce == last + 1 else {
            throw TxError(.badNonce, "nonce \(tx.nonce) of sender \(tx.sender) is not the next one: expected \(last &+ 1)")
        }
        if signature.needsVerification(stx.hash) {
            guard stx.verifySignature(genesisHash: config.genesisHash) else {
                throw TxError(.badSignature, "signature does not verify for sender \(tx.sender)")
            }
        }
        try applyPayload(stx, context, &state)
        state.put(.nonces, StateKeys.key(tx.sender), StateKeys.encodeNonce(tx.nonce))
    }

    /// Checks one tx against `state` (e.g. committed state, for mempool admission) and returns
    /// its changes, without touching `state`.
    public func check<S: StateReader>(_ stx: SignedTx, context: TxContext, state: S,
                                      signature: SignatureCheck) -> Result<StateChanges, TxError> {
        var overlay = OverlayState(base: state)
        do {
            try apply(stx, context: context, to: &overlay, signature: signature)
            return .success(overlay.changes)
        } catch {
            return .failure(error)
        }
    }

    private func applyPayload<S: StateReader>(_ stx: SignedTx, _ ctx: TxContext,
                                              _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        switch stx.tx.payload {
        case .registerIdentity(let p): try registerIdentity(p, sender: sender, ctx, &state)
        case .revokeIdentity(let p): try revokeIdentity(p, sender: sender, ctx, &state)
        case .addRegistrar(let p): try addRegistrar(p, sender: sender, ctx, &state)
        case .removeRegistrar(let subject): try removeRegistrar(subject, sender: sender, &state)
        case .registerWork(let work): try registerWorks([work], batch: false, stx, ctx, &state)
        case .registerWorkBatch(let works): try registerWorks(works, batch: true, stx, ctx, &state)
        case .transferWork(let p): try transferWork(p, stx, ctx, &state)
        case .grantLicense(let p): try grantLicense(p, stx, ctx, &state)
        case .fileClaim(let p): try fileClaim(p, stx, ctx, &state)
        case .validatorChange(let p): try validatorChange(p, sender: sender, ctx, &state)
        case .submitEvidence(let p): try submitEvidence(p, stx, ctx, &state)
        }
    }
}

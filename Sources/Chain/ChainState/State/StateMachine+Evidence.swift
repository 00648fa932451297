import ChainModel
import TotemCrypto

/// SubmitEvidence: two conflicting votes of one validator at one (height, view, phase), recorded once.
extension StateMachine {
    func submitEvidence<S: StateReader>(_ e: SubmitEvidence, _ stx: SignedTx, _ ctx: TxContext,
                                        _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        guard state.validatorSetRecord().inForce(at: ctx.height).contains(sender) else {
            throw TxError(.notValidator, "sender \(sender) is not a validator of the set in force at height \(ctx.height)")
        }
        // Votes exist only for heights up to the block being built; later sets are not known yet.
        guard e.height >= 1, e.height <= ctx.height else {
            throw TxError(.evidenceHeight, "evidence height \(e.height) is not between 1 and the block height \(ctx.height)")
        }
        let key = StateKeys.evidence(validator: e.validator, height: e.height, view: e.view, phase: e.phase)
        if let prior = state.record(EvidenceRecord.self, .evidence, key) {
            throw TxError(.evidenceDuplicate,
                          "evidence against \(e.validator) at height \(e.height) view \(e.view) is already recorded (height \(prior.includedAtHeight))")
        }
        guard state.validatorHistory().inForce(at: e.height).contains(e.validator) else {
            throw TxError(.evidenceNotInSet, "\(e.validator) was not a validator at height \(e.height)")
        }
        let a = VoteBody(height: e.height, view: e.view, blockHash: e.blockHashA)
        let b = VoteBody(height: e.height, view: e.view, blockHash: e.blockHashB)
        let g = config.genesisHash
        guard a.verify(e.phase, signature: e.signatureA, validator: e.validator, genesisHash: g),
              b.verify(e.phase, signature: e.signatureB, validator: e.validator, genesisHash: g) else {
            throw TxError(.evidenceBadSignature, "the two votes are not both validly signed by \(e.validator)")
        }
        let record = EvidenceRecord(blockHashA: e.blockHashA, signatureA: e.signatureA, blockHashB: e.blockHashB,
                                    signatureB: e.signatureB, submitter: sender, includedAtHeight: ctx.height,
                                    txHash: stx.hash)
        state.put(record, .evidence, key)
    }
}

extension StateMachine {
    /// The error a SubmitEvidence `stx` would meet in the block at `height` on `state` (sender not
    /// a validator, height out of range, already recorded, accused not in the set, a signature
    /// that does not verify), if any; nil for any other kind of tx. The node checks it at
    /// submission, so bad evidence is refused at once rather than at block building.
    public func evidenceProblem<S: StateReader>(_ stx: SignedTx, state: S, height: UInt64) -> TxError? {
        guard case .submitEvidence(let e) = stx.tx.payload else { return nil }
        var scratch = OverlayState(base: state)
        do {
            try submitEvidence(e, stx, TxContext(height: height, timestampMs: 0, index: 0), &scratch)
            return nil
        } catch {
            return error
        }
    }
}

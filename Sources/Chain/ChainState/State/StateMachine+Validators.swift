import ChainModel
import TotemCrypto

/// Validator changes (PROTOCOL.md "Validator changes"): validators of the set in force vote for a
/// change; on `q` votes in block h it is adopted and the new set is in force from h + 2.
extension StateMachine {
    func validatorChange<S: StateReader>(_ change: ValidatorChange, sender: Bytes32, _ ctx: TxContext,
                                         _ state: inout OverlayState<S>) throws(TxError) {
        var record = state.validatorSetRecord()
        let inForce = record.inForce(at: ctx.height)
        guard inForce.contains(sender) else {
            throw TxError(.notValidator, "sender \(sender) is not a validator of the set in force at height \(ctx.height)")
        }
        try Self.checkApplies(change, to: record.latest)
        var tallies = state.validatorTallies().tallies
        let ttl = config.validatorChangeTtlBlocks
        tallies.removeAll { ctx.height - $0.firstHeight >= ttl }
        let index = try vote(for: change, by: sender, at: ctx.height, in: &tallies)
        let votes = tallies[index].voters.reduce(0) { $0 + (inForce.contains($1) ? 1 : 0) }
        if votes >= ValidatorSet.quorum(of: inForce.members.count) {
            var history = state.validatorHistory()
            let next = record.latest.applying(change, fromHeight: ctx.height + 2)
            if record.latest.fromHeight == next.fromHeight {
                record.epochs[record.epochs.count - 1] = next
            } else {
                record.epochs.append(next)
            }
            history.record(next)
            state.put(record, .validators, StateKeys.validatorSet)
            state.put(history, .validators, StateKeys.validatorHistory)
            tallies.removeAll()
        }
        state.put(ValidatorTallies(tallies: tallies), .validatorTallies, StateKeys.validatorTallies)
    }

    /// Adds `voter`'s vote to the change's open tally, or starts one; returns the tally's index.
    private func vote(for change: ValidatorChange, by voter: Bytes32, at height: UInt64,
                      in tallies: inout [ValidatorTally]) throws(TxError) -> Int {
        if let i = tallies.firstIndex(where: { $0.isChange(change) }) {
            guard !tallies[i].voters.contains(voter) else {
                throw TxError(.validatorVoteDuplicate,
                              "validator \(voter) already voted for this change (tally opened at height \(tallies[i].firstHeight))")
            }
            tallies[i].voters.append(voter)
            return i
        }
        let open = tallies.reduce(0) { $0 + ($1.voters.contains(voter) ? 1 : 0) }
        guard open < StateLimits.openTalliesPerValidatorMax else {
            throw TxError(.validatorVoteLimit,
                          "validator \(voter) already votes in \(open) open changes (limit \(StateLimits.openTalliesPerValidatorMax))")
        }
        tallies.append(ValidatorTally(op: change.op, validator: change.validator, name: change.name,
                                      p2pAddress: change.p2pAddress, firstHeight: height, voters: [voter]))
        return tallies.count - 1
    }

    /// A change must make sense for the newest adopted set: add an absent key (with a name and an
    /// address), remove a present one (with empty strings), never leave the set empty.
    static func checkApplies(_ change: ValidatorChange, to latest: ValidatorEpoch) throws(TxError) {
        let v = change.validator
        switch change.op {
        case .add:
            guard !change.name.isEmpty, !change.p2pAddress.isEmpty else {
                throw TxError(.validatorChangeFields, "adding validator \(v) needs a name and a p2pAddress")
            }
            guard !latest.contains(v) else {
                throw TxError(.validatorPresent, "validator \(v) is already in the set")
            }
            guard latest.members.count < Limits.validatorsMaxCount else {
                throw TxError(.validatorSetFull, "the set already has \(Limits.validatorsMaxCount) validators")
            }
        case .remove:
            guard change.name.isEmpty, change.p2pAddress.isEmpty else {
                throw TxError(.validatorChangeFields, "removing validator \(v) takes an empty name and p2pAddress")
            }
            guard latest.contains(v) else {
                throw TxError(.validatorAbsent, "validator \(v) is not in the set")
            }
            guard latest.members.count > 1 else {
                throw TxError(.validatorLast, "validator \(v) is the last one: the set cannot become empty")
            }
        }
    }
}

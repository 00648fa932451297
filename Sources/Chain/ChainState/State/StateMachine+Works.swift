import ChainModel
import TotemCrypto

/// Works: registration (first registration wins), transfers, licences and claims.
extension StateMachine {
    /// The registration that holds `contentHash`, if any. Registration priority is decided here
    /// alone, so registration by commitment (reserved kinds 12/13) can later let an earlier
    /// commitment win over a plain registration.
    func priorRegistration<S: StateReader>(of contentHash: Bytes32, _ state: OverlayState<S>) -> WorkRecord? {
        state.work(contentHash)
    }

    static func alreadyRegistered(_ prior: WorkRecord, item: Int?) -> TxError {
        let which = item.map { "item \($0): " } ?? ""
        let owner = prior.owner == prior.registrant ? "" : " (now owned by \(prior.owner))"
        return TxError(.workAlreadyRegistered,
                       "\(which)work \(prior.work.contentHash) is already registered by \(prior.registrant) "
                       + "at height \(prior.height)\(owner)")
    }

    /// The sender's identity, which must exist and not be revoked.
    func activeIdentity<S: StateReader>(_ sender: Bytes32, _ state: OverlayState<S>) throws(TxError) -> IdentityRecord {
        guard let identity = state.identity(sender) else {
            throw TxError(.senderNotIdentity, "sender \(sender) is not a registered identity")
        }
        if let r = identity.revocation {
            throw TxError(.senderIdentityRevoked, "identity of sender \(sender) was revoked at height \(r.height)")
        }
        return identity
    }

    /// RegisterWork (one work) and RegisterWorkBatch: all items or none.
    func registerWorks<S: StateReader>(_ works: [Work], batch: Bool, _ stx: SignedTx, _ ctx: TxContext,
                                       _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        _ = try activeIdentity(sender, state)
        if batch && works.count > 1 {
            var firstIndex = [Bytes32: Int](minimumCapacity: works.count)
            for (i, work) in works.enumerated() {
                if let j = firstIndex.updateValue(i, forKey: work.contentHash) {
                    throw TxError(.batchDuplicateWork, "items \(j) and \(i) both register work \(work.contentHash)")
                }
            }
        }
        for (i, work) in works.enumerated() {
            if let prior = priorRegistration(of: work.contentHash, state) {
                throw Self.alreadyRegistered(prior, item: batch ? i : nil)
            }
        }
        for (i, work) in works.enumerated() {
            let record = WorkRecord(work: work, registrant: sender, owner: sender, ownerSinceHeight: ctx.height,
                                    registeredAtMs: ctx.timestampMs, height: ctx.height, txHash: stx.hash,
                                    txIndex: ctx.index, batchIndex: batch ? UInt32(i) : nil)
            state.put(record, .works, StateKeys.key(work.contentHash))
            state.put(.worksByOwner, StateKeys.workByOwner(owner: sender, sinceHeight: ctx.height,
                                                           contentHash: work.contentHash), [])
        }
    }

    /// The work, which the sender must own with an unrevoked identity.
    func ownedWork<S: StateReader>(_ contentHash: Bytes32, by sender: Bytes32,
                                   _ state: OverlayState<S>) throws(TxError) -> WorkRecord {
        guard let record = state.work(contentHash) else {
            throw TxError(.workNotFound, "work \(contentHash) is not registered")
        }
        guard record.owner == sender else {
            throw TxError(.notWorkOwner, "sender \(sender) does not own work \(contentHash) (owner: \(record.owner))")
        }
        _ = try activeIdentity(sender, state)
        return record
    }

    func transferWork<S: StateReader>(_ p: TransferWork, _ stx: SignedTx, _ ctx: TxContext,
                                      _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        var record = try ownedWork(p.contentHash, by: sender, state)
        guard p.newOwner != sender else {
            throw TxError(.transferToSelf, "sender \(sender) already owns work \(p.contentHash)")
        }
        guard let newOwner = state.identity(p.newOwner) else {
            throw TxError(.newOwnerNotIdentity, "new owner \(p.newOwner) is not a registered identity")
        }
        guard !newOwner.revoked else {
            throw TxError(.newOwnerRevoked, "identity of new owner \(p.newOwner) is revoked")
        }
        state.delete(.worksByOwner, StateKeys.workByOwner(owner: sender, sinceHeight: record.ownerSinceHeight,
                                                          contentHash: p.contentHash))
        state.put(.worksByOwner, StateKeys.workByOwner(owner: p.newOwner, sinceHeight: ctx.height,
                                                       contentHash: p.contentHash), [])
        record.owner = p.newOwner
        record.ownerSinceHeight = ctx.height
        state.put(record, .works, StateKeys.key(p.contentHash))
        let event = StateKeys.workEvent(contentHash: p.contentHash, height: ctx.height, txIndex: ctx.index)
        state.put(TransferRecord(from: sender, to: p.newOwner, atMs: ctx.timestampMs, txHash: stx.hash), .transfers, event)
    }

    func grantLicense<S: StateReader>(_ p: GrantLicense, _ stx: SignedTx, _ ctx: TxContext,
                                      _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        _ = try ownedWork(p.contentHash, by: sender, state)
        guard p.validUntilMs == 0 || p.validUntilMs > ctx.timestampMs else {
            throw TxError(.licenseExpired, "licence valid until \(p.validUntilMs) ms has already ended at block time \(ctx.timestampMs) ms")
        }
        let record = LicenceRecord(grantor: sender, licensee: p.licensee, terms: p.terms, validUntilMs: p.validUntilMs,
                                   grantedAtMs: ctx.timestampMs, txHash: stx.hash)
        state.put(record, .licences, StateKeys.workEvent(contentHash: p.contentHash, height: ctx.height, txIndex: ctx.index))
    }

    func fileClaim<S: StateReader>(_ p: FileClaim, _ stx: SignedTx, _ ctx: TxContext,
                                   _ state: inout OverlayState<S>) throws(TxError) {
        let sender = stx.tx.sender
        guard let work = state.work(p.contentHash) else {
            throw TxError(.workNotFound, "work \(p.contentHash) is not registered")
        }
        let identity = try activeIdentity(sender, state)
        guard work.owner == sender || identity.role == .agency else {
            throw TxError(.notOwnerOrAgency, "sender \(sender) is neither the owner of work \(p.contentHash) nor an agency")
        }
        let record = ClaimRecord(claimant: sender, infringingDigest: p.infringingDigest, locator: p.locator,
                                 note: p.note, filedAtMs: ctx.timestampMs, txHash: stx.hash)
        state.put(record, .claims, StateKeys.workEvent(contentHash: p.contentHash, height: ctx.height, txIndex: ctx.index))
    }
}

extension StateMachine {
    /// The error a registration of `stx` meets in `state` because one of its works is already
    /// registered, if any. The node checks it at submission, so a duplicate is refused at once;
    /// block building checks it again through the same `priorRegistration`.
    public func registrationConflict<S: StateReader>(_ stx: SignedTx, state: S) -> TxError? {
        let works = stx.tx.payload.works
        guard !works.isEmpty else { return nil }
        let overlay = OverlayState(base: state)
        let batch = stx.tx.kind == .registerWorkBatch
        for (i, work) in works.enumerated() {
            if let prior = priorRegistration(of: work.contentHash, overlay) {
                return Self.alreadyRegistered(prior, item: batch ? i : nil)
            }
        }
        return nil
    }
}

import ChainModel
import TotemCrypto

/// Identities and registrars: the root registrar appoints registrars, registrars (and the root)
/// register and revoke identities.
extension StateMachine {
    /// True for the root registrar and for every registrar currently appointed.
    func isRegistrar<S: StateReader>(_ key: Bytes32, _ state: OverlayState<S>) -> Bool {
        key == config.rootRegistrar || state.get(.registrars, StateKeys.key(key)) != nil
    }

    func registerIdentity<S: StateReader>(_ p: RegisterIdentity, sender: Bytes32, _ ctx: TxContext,
                                          _ state: inout OverlayState<S>) throws(TxError) {
        guard isRegistrar(sender, state) else {
            throw TxError(.notRegistrar, "sender \(sender) is not a registrar")
        }
        let key = StateKeys.key(p.subject)
        if let existing = state.record(IdentityRecord.self, .identities, key) {
            let status = existing.revoked ? "registered and revoked" : "registered"
            throw TxError(.identityExists, "identity \(p.subject) is already \(status) (height \(existing.registeredAtHeight))")
        }
        let record = IdentityRecord(displayName: p.displayName, role: p.role, kycDigest: p.kycDigest,
                                    registrar: sender, registeredAtHeight: ctx.height)
        state.put(record, .identities, key)
    }

    func revokeIdentity<S: StateReader>(_ p: RevokeIdentity, sender: Bytes32, _ ctx: TxContext,
                                        _ state: inout OverlayState<S>) throws(TxError) {
        let key = StateKeys.key(p.subject)
        guard var record = state.record(IdentityRecord.self, .identities, key) else {
            throw TxError(.identityNotFound, "identity \(p.subject) is not registered")
        }
        // The registrar that registered it may revoke it while it is still a registrar; the root
        // may revoke any identity (also those of a removed registrar).
        let byRoot = sender == config.rootRegistrar
        let byItsRegistrar = sender == record.registrar && isRegistrar(sender, state)
        guard byRoot || byItsRegistrar else {
            throw TxError(.notIdentityRegistrar,
                          "sender \(sender) is neither the registrar of identity \(p.subject) nor the root registrar")
        }
        if let r = record.revocation {
            throw TxError(.identityAlreadyRevoked, "identity \(p.subject) was already revoked at height \(r.height)")
        }
        record.revocation = .init(height: ctx.height, by: sender, reason: p.reason)
        state.put(record, .identities, key)
    }

    func addRegistrar<S: StateReader>(_ p: AddRegistrar, sender: Bytes32, _ ctx: TxContext,
                                      _ state: inout OverlayState<S>) throws(TxError) {
        guard sender == config.rootRegistrar else {
            throw TxError(.notRootRegistrar, "only the root registrar appoints registrars; sender is \(sender)")
        }
        guard !isRegistrar(p.subject, state) else {
            throw TxError(.registrarExists, "\(p.subject) is already a registrar")
        }
        state.put(RegistrarRecord(name: p.name, addedAtHeight: ctx.height), .registrars, StateKeys.key(p.subject))
    }

    func removeRegistrar<S: StateReader>(_ subject: Bytes32, sender: Bytes32,
                                         _ state: inout OverlayState<S>) throws(TxError) {
        guard sender == config.rootRegistrar else {
            throw TxError(.notRootRegistrar, "only the root registrar removes registrars; sender is \(sender)")
        }
        let key = StateKeys.key(subject)
        guard state.get(.registrars, key) != nil else {
            throw TxError(.registrarNotFound, "\(subject) is not an appointed registrar")
        }
        state.delete(.registrars, key)
    }
}

import Chain
import TotemCrypto

/// The mempool's view of committed state, over one LMDB read transaction.
struct AccountsView<R: StateReader>: MempoolAccounts {
    let reader: R
    let rootRegistrar: Bytes32
    /// Validators of the set in force and of adopted sets not yet in force.
    let validators: Set<Bytes32>

    func nextNonce(of sender: Bytes32) -> UInt64 { reader.lastNonce(sender) &+ 1 }

    func isKnownSender(_ sender: Bytes32) -> Bool {
        if sender == rootRegistrar || validators.contains(sender) { return true }
        if reader.registrar(sender) != nil { return true }
        if let identity = reader.identity(sender) { return !identity.revoked }
        return false
    }
}

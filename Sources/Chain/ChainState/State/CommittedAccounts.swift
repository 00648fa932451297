import TotemCrypto

/// The mempool's view of committed state (`MempoolAccounts`): next nonces, and whether a sender
/// could ever have a transaction apply.
public struct CommittedAccounts<S: StateReader>: MempoolAccounts {
    public let state: S
    public let rootRegistrar: Bytes32
    /// The height the next block will have.
    public let nextHeight: UInt64

    public init(state: S, config: ChainConfig, committedHeight: UInt64) {
        self.state = state
        self.rootRegistrar = config.rootRegistrar
        self.nextHeight = committedHeight + 1
    }

    public func nextNonce(of sender: Bytes32) -> UInt64 { state.lastNonce(sender) &+ 1 }

    public var committedHeight: UInt64? { nextHeight - 1 }

    /// An unrevoked identity, a registrar (the root included) or a validator of the set in force
    /// at the next height.
    public func isKnownSender(_ sender: Bytes32) -> Bool {
        if sender == rootRegistrar || state.get(.registrars, StateKeys.key(sender)) != nil { return true }
        if let identity = state.identity(sender), !identity.revoked { return true }
        return state.validatorSetRecord().inForce(at: nextHeight).contains(sender)
    }
}

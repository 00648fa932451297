import ChainModel

/// Bounds of one node's mempool. Every one has a default; the node config may change them.
public struct MempoolLimits: Sendable, Equatable {
    /// Most transactions held at once.
    public var maxTxCount: Int
    /// Most encoded bytes held at once.
    public var maxBytes: Int
    /// Most transactions of one sender held at once (at most the nonce window).
    public var maxPerSender: Int
    /// Largest SignedTx admitted (genesis `maxTxBytes`).
    public var maxTxBytes: Int
    /// Admitted nonces lie in `[next, next + nonceWindow)`.
    public var nonceWindow: UInt64

    /// Hashes of recently verified txs remembered so a signature is not checked twice (at
    /// admission and in a proposal, whichever comes first): 32,768 is a few proposals of the
    /// largest size, about 3 MiB.
    public static let verifiedHashesMax = 32_768

    public init(maxTxCount: Int = 100_000, maxBytes: Int = 128 << 20, maxPerSender: Int = 64,
                maxTxBytes: Int = Limits.signedTxMaxBytes, nonceWindow: UInt64 = 64) {
        self.maxTxCount = maxTxCount
        self.maxBytes = maxBytes
        self.maxPerSender = min(maxPerSender, Int(nonceWindow))
        self.maxTxBytes = maxTxBytes
        self.nonceWindow = nonceWindow
    }
}

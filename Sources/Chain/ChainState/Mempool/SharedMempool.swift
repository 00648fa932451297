import ChainModel
import Synchronization
import TotemCrypto

/// The node's mempool: the `Mempool` state machine behind a lock, with batch admission that
/// verifies signatures on all cores *outside* the lock, after the cheap checks.
public final class SharedMempool: Sendable {
    private let state: Mutex<Mempool>
    public let genesisHash: Bytes32

    public init(_ mempool: Mempool, genesisHash: Bytes32) {
        state = Mutex(mempool)
        self.genesisHash = genesisHash
    }

    /// Offers transactions in order; one admission result per transaction. A signature is checked
    /// only for a transaction that passed the cheap checks and is not already held.
    public func admit(_ txs: [SignedTx], accounts: some MempoolAccounts) -> [Admission] {
        var results = state.withLock { pool in txs.map { pool.precheck($0, accounts: accounts) } }
        let toVerify = results.indices.filter { results[$0] == .accepted }
        let verified = ParallelVerifier.verify(toVerify.map { txs[$0] }, genesisHash: genesisHash)
        state.withLock { pool in
            for (k, i) in toVerify.enumerated() {
                results[i] = verified[k]
                    ? pool.insert(verified: txs[i], accounts: accounts)
                    : .rejected(MempoolError(.badSignature, "signature does not verify for sender \(txs[i].tx.sender)"))
            }
        }
        return results
    }

    public func withPool<R>(_ body: (inout Mempool) -> R) -> R { state.withLock { body(&$0) } }

    public var count: Int { state.withLock { $0.count } }
    public var byteCount: Int { state.withLock { $0.byteCount } }
    public var evictedCount: Int { state.withLock { $0.evictedCount } }
}

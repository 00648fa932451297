import ChainModel
import Synchronization
import TotemCrypto

/// The node's mempool: the `Mempool` state machine behind a lock, with batch admission that
/// verifies signatures on all cores *outside* the lock, after the cheap checks.
public final class SharedMempool: Sendable {
    private let state: Mutex<Mempool>
    public let genesisHash: Bytes32
    /// Hashes of txs whose signature verified here lately, in admission or in a proposal (a tx's
    /// hash is over all its bytes, signature included, so the same hash is the same check). A tx
    /// in a proposal that arrives before its gossip is checked there, and its gossip then finds it
    /// here instead of being checked again; likewise the other way round.
    private let verified = Mutex(BoundedHashSet(capacity: MempoolLimits.verifiedHashesMax))
    private let checks = Atomic<Int>(0)

    public init(_ mempool: Mempool, genesisHash: Bytes32) {
        state = Mutex(mempool)
        self.genesisHash = genesisHash
    }

    /// Offers transactions in order; one admission result per transaction. A signature is checked
    /// only for a transaction that passed the cheap checks, is not already held and was not
    /// verified here lately.
    public func admit(_ txs: [SignedTx], accounts: some MempoolAccounts) -> [Admission] {
        var results = state.withLock { pool in txs.map { pool.precheck($0, accounts: accounts) } }
        let toVerify = results.indices.filter { results[$0] == .accepted }
        // Whether each tx to verify does: true if verified here lately, else checked now.
        var ok = verified.withLock { v in toVerify.map { v.contains(txs[$0].hash) } }
        let unknown = ok.indices.filter { !ok[$0] }
        for (k, good) in zip(unknown, verifyAndRemember(unknown.map { txs[toVerify[$0]] })) { ok[k] = good }
        state.withLock { pool in
            for (k, i) in toVerify.enumerated() {
                results[i] = ok[k]
                    ? pool.insert(verified: txs[i], accounts: accounts)
                    : .rejected(MempoolError(.badSignature, "signature does not verify for sender \(txs[i].tx.sender)"))
            }
        }
        return results
    }

    /// Checks the signatures of a proposal's txs that the pool does not hold and that were not
    /// verified here lately (held txs were checked at admission); returns the first that does not
    /// verify, nil if none.
    public func firstBadSignature(_ txs: [SignedTx]) -> SignedTx? {
        let held = state.withLock { pool in txs.map { pool.contains($0.hash) } }
        let unseen = verified.withLock { v in txs.indices.filter { !held[$0] && !v.contains(txs[$0].hash) } }.map { txs[$0] }
        return zip(unseen, verifyAndRemember(unseen)).first { !$0.1 }?.0
    }

    /// Verifies on all cores, and remembers the hashes of those that verified.
    private func verifyAndRemember(_ txs: [SignedTx]) -> [Bool] {
        guard !txs.isEmpty else { return [] }
        let ok = ParallelVerifier.verify(txs, genesisHash: genesisHash)
        checks.add(txs.count, ordering: .relaxed)
        verified.withLock { v in for (tx, good) in zip(txs, ok) where good { v.insert(tx.hash) } }
        return ok
    }

    /// Transaction signatures checked since the start (admission and proposals).
    public var signatureChecks: Int { checks.load(ordering: .relaxed) }

    public func withPool<R>(_ body: (inout Mempool) -> R) -> R { state.withLock { body(&$0) } }

    public var count: Int { state.withLock { $0.count } }
    public var byteCount: Int { state.withLock { $0.byteCount } }
    public var evictedCount: Int { state.withLock { $0.evictedCount } }
}

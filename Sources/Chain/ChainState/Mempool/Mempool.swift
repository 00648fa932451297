import ChainModel
import TotemCrypto

/// What the mempool needs to know of committed state.
public protocol MempoolAccounts {
    /// The sender's next nonce in committed state (1 for a key never seen).
    func nextNonce(of sender: Bytes32) -> UInt64
    /// Whether `sender` may send transactions at all: a registered identity, a registrar, the root
    /// registrar or a validator. Anyone else's transactions could never apply.
    func isKnownSender(_ sender: Bytes32) -> Bool
    /// The height of the committed state these answers come from; nil when the caller cannot say
    /// (then the pool takes them as current).
    var committedHeight: UInt64? { get }
}

extension MempoolAccounts {
    public var committedHeight: UInt64? { nil }
}

/// The outcome of offering one transaction.
public enum Admission: Sendable, Equatable {
    /// Newly admitted.
    case accepted
    /// Already held (the same bytes): nothing changed, and the caller may answer as accepted.
    case duplicate
    case rejected(MempoolError)
}

/// Pending transactions of one node, as a state machine with no I/O (the node wraps it in a lock).
///
/// Rules (DESIGN.md): admitted nonces lie in `[next, next + window)`; for one `(sender, nonce)` the
/// first transaction seen wins; proposals take transactions in arrival order, holding one back until
/// the sender's previous nonce is in; after a block, committed and stale transactions leave. A full
/// pool still admits a transaction a proposal could take, evicting ones held behind a nonce gap.
/// Arrival order is this node's own: there is no fairness across nodes beyond it.
public struct Mempool: Sendable {
    public let chainId: String
    public let limits: MempoolLimits

    private struct Entry: Sendable {
        let tx: SignedTx
        /// Position in `order`.
        var slot: Int
    }

    private struct SenderNonce: Hashable, Sendable {
        let sender: Bytes32
        let nonce: UInt64
    }

    private var entries: [Bytes32: Entry] = [:]
    private var slots: [SenderNonce: Bytes32] = [:]
    private var perSender: [Bytes32: Int] = [:]
    /// Pending RegisterWork and RegisterWorkBatch txs by the content hashes they register: when a
    /// block registers one of them, the others can no longer apply (first registration wins).
    private var byContent: [Bytes32: Holders] = [:]
    /// Arrival order; removed entries leave a nil until the next compaction.
    private var order: [Bytes32?] = []
    private var holes = 0
    public private(set) var byteCount = 0
    /// The highest height `blockCommitted` has seen. Admission against state older than this is
    /// refused (`stateChanged`): the block may have used the nonce, and its cleanup has already run,
    /// so a transaction admitted now could stay in the pool for good.
    public private(set) var committedHeight: UInt64 = 0
    /// Transactions evicted to make room for one a proposal could take (`makeRoom`), since start.
    public private(set) var evictedCount = 0
    /// The hashes evicted since the last `takeEvicted()`: the node's gossip must forget it saw them,
    /// or a peer's regossip of one (a benched validator may be the only holder left) is dropped
    /// here as already seen. At most the pool's own count bound between two calls.
    private var evictedSinceTaken: [Bytes32] = []
    /// Set when a search for room found too little to evict; any change of the pool clears it, so a
    /// full pool of proposable transactions costs one search per change, not one per refused offer.
    private var roomSearchFutile = false

    public init(chainId: String, limits: MempoolLimits = MempoolLimits()) {
        self.chainId = chainId
        self.limits = limits
    }

    public var count: Int { entries.count }
    public func contains(_ hash: Bytes32) -> Bool { entries[hash] != nil }
    public func tx(_ hash: Bytes32) -> SignedTx? { entries[hash]?.tx }

    /// The cheap checks, run before the signature is verified, so a flood of bad transactions costs
    /// no signature checks. `insert` repeats them, as the pool may change in between.
    public func precheck(_ tx: SignedTx, accounts: some MempoolAccounts) -> Admission {
        if entries[tx.hash] != nil { return .duplicate }
        if let seen = accounts.committedHeight, seen < committedHeight {
            return .rejected(MempoolError(.stateChanged, "block \(committedHeight) was committed while this transaction was checked against height \(seen); check it again"))
        }
        guard tx.bytes.count <= limits.maxTxBytes else {
            return .rejected(MempoolError(.txTooLarge, "transaction of \(tx.bytes.count) bytes exceeds \(limits.maxTxBytes)"))
        }
        guard tx.tx.chainId.utf8.elementsEqual(chainId.utf8) else {
            return .rejected(MempoolError(.wrongChain, "transaction is for chain \"\(tx.tx.chainId)\", not \"\(chainId)\""))
        }
        let sender = tx.tx.sender, nonce = tx.tx.nonce
        guard accounts.isKnownSender(sender) else {
            return .rejected(MempoolError(.unknownSender, "sender \(sender) is not a registered identity, registrar or validator"))
        }
        let next = accounts.nextNonce(of: sender)
        guard nonce >= next else {
            return .rejected(MempoolError(.nonceTooLow, "nonce \(nonce) is already used; next nonce of \(sender) is \(next)"))
        }
        guard nonce - next < limits.nonceWindow else {
            return .rejected(MempoolError(.nonceTooHigh, "nonce \(nonce) is beyond the window [\(next), \(next + limits.nonceWindow))"))
        }
        if let held = slots[SenderNonce(sender: sender, nonce: nonce)], held != tx.hash {
            return .rejected(MempoolError(.conflictingNonce, "another transaction (\(held)) already holds nonce \(nonce) of \(sender)"))
        }
        if perSender[sender, default: 0] >= limits.maxPerSender {
            return .rejected(MempoolError(.senderQuotaExceeded, "sender \(sender) already has \(limits.maxPerSender) pending transactions"))
        }
        if !fits(tx, freeing: 0, bytes: 0) {
            // A full pool still takes a transaction a proposal could take now, in place of ones that
            // wait behind a nonce gap (`makeRoom`): otherwise a pool full of those would refuse the
            // very transactions that close the gaps, and nothing would commit again.
            guard !roomSearchFutile, isProposable(sender: sender, nonce: nonce, next: next) else {
                return .rejected(MempoolError(.mempoolFull, "mempool is full (\(entries.count) transactions, \(byteCount) bytes)"))
            }
        }
        return .accepted
    }

    private func fits(_ tx: SignedTx, freeing count: Int, bytes: Int) -> Bool {
        entries.count - count < limits.maxTxCount && byteCount - bytes + tx.bytes.count <= limits.maxBytes
    }

    /// The first nonce of `sender` from `nonce` on that the pool does not hold.
    private func firstNonceNotHeld(_ sender: Bytes32, from nonce: UInt64) -> UInt64 {
        var n = nonce
        while slots[SenderNonce(sender: sender, nonce: n)] != nil { n += 1 }
        return n
    }

    /// Whether a proposal could take `nonce` of `sender` now: every nonce from the committed `next`
    /// up to it is held.
    private func isProposable(sender: Bytes32, nonce: UInt64, next: UInt64) -> Bool {
        var n = nonce
        while n > next {
            n -= 1
            if slots[SenderNonce(sender: sender, nonce: n)] == nil { return false }
        }
        return true
    }

    /// Frees room for `tx` (proposable, see `precheck`) by evicting held transactions that no
    /// proposal can take (a nonce above a gap), newest first. Evicts nothing and answers false when
    /// they would not free enough.
    private mutating func makeRoom(for tx: SignedTx, accounts: some MempoolAccounts) -> Bool {
        if fits(tx, freeing: 0, bytes: 0) { return true }
        if roomSearchFutile { return false }
        // Per sender, the first nonce no proposal can take: below it every nonce is held.
        var proposableEnd: [Bytes32: UInt64] = [:]
        // `tx` closes its sender's gap: the nonces held above it become proposable with it.
        proposableEnd[tx.tx.sender] = firstNonceNotHeld(tx.tx.sender, from: tx.tx.nonce + 1)
        var victims: [Bytes32] = []
        var freedBytes = 0
        for case let h? in order.reversed() {
            guard let e = entries[h] else { continue }
            let sender = e.tx.tx.sender
            let end = proposableEnd[sender] ?? firstNonceNotHeld(sender, from: accounts.nextNonce(of: sender))
            proposableEnd[sender] = end
            guard e.tx.tx.nonce > end else { continue }
            victims.append(h)
            freedBytes += e.tx.bytes.count
            if fits(tx, freeing: victims.count, bytes: freedBytes) {
                remove(victims)
                evictedCount += victims.count
                let room = max(0, limits.maxTxCount - evictedSinceTaken.count)
                evictedSinceTaken.append(contentsOf: victims.prefix(room))
                return true
            }
        }
        roomSearchFutile = true
        return false
    }

    /// Admits a transaction whose signature the caller has verified.
    public mutating func insert(verified tx: SignedTx, accounts: some MempoolAccounts) -> Admission {
        let check = precheck(tx, accounts: accounts)
        guard check == .accepted else { return check }
        guard makeRoom(for: tx, accounts: accounts) else {
            return .rejected(MempoolError(.mempoolFull, "mempool is full (\(entries.count) transactions, \(byteCount) bytes) and holds nothing to evict for this transaction"))
        }
        roomSearchFutile = false
        entries[tx.hash] = Entry(tx: tx, slot: order.count)
        order.append(tx.hash)
        slots[SenderNonce(sender: tx.tx.sender, nonce: tx.tx.nonce)] = tx.hash
        perSender[tx.tx.sender, default: 0] += 1
        for content in Self.registeredContent(tx) {
            byContent[content] = byContent[content].map { $0.adding(tx.hash) } ?? .one(tx.hash)
        }
        byteCount += tx.bytes.count
        return .accepted
    }

    /// The hashes evicted since the last call (see `evictedSinceTaken`).
    public mutating func takeEvicted() -> [Bytes32] {
        defer { evictedSinceTaken = [] }
        return evictedSinceTaken
    }

    /// Removes transactions (committed, or found invalid while building a block).
    public mutating func remove(_ hashes: some Sequence<Bytes32>) {
        roomSearchFutile = false
        for h in hashes {
            guard let e = entries.removeValue(forKey: h) else { continue }
            order[e.slot] = nil
            holes += 1
            slots[SenderNonce(sender: e.tx.tx.sender, nonce: e.tx.tx.nonce)] = nil
            let left = perSender[e.tx.tx.sender, default: 1] - 1
            perSender[e.tx.tx.sender] = left > 0 ? left : nil
            for content in Self.registeredContent(e.tx) { byContent[content] = byContent[content]?.removing(h) }
            byteCount -= e.tx.bytes.count
        }
        compactIfSparse()
    }

    /// After a block is committed: its transactions leave, and so does every pending transaction of
    /// its senders whose nonce is now used. Returns the hashes removed as stale (not in the block).
    public mutating func blockCommitted(_ txs: [SignedTx], accounts: some MempoolAccounts) -> [Bytes32] {
        if let h = accounts.committedHeight { committedHeight = max(committedHeight, h) }
        roomSearchFutile = false  // committed nonces moved: what can be proposed changed
        remove(txs.map(\.hash))
        var senders = Set<Bytes32>()
        for t in txs { senders.insert(t.tx.sender) }
        var stale: [Bytes32] = []
        for s in senders.sorted() {
            let next = accounts.nextNonce(of: s)
            var n = next
            // Pending nonces of this sender lie within the window below `next`.
            while n > 0, next - n < limits.nonceWindow + 1 {
                n -= 1
                if let h = slots[SenderNonce(sender: s, nonce: n)] { stale.append(h) }
            }
        }
        remove(stale)
        return stale
    }

    /// A pending registration that a committed one made inapplicable.
    public struct LostRegistration: Sendable {
        public let tx: SignedTx
        /// The first of its contents the block registered, and who registered it.
        public let contentHash: Bytes32
        public let registrant: Bytes32
        /// The item of a RegisterWorkBatch that holds `contentHash` (nil for a RegisterWork).
        public let item: Int?
    }

    /// After a block is committed: pending registrations of content the block registered can no
    /// longer apply; they leave (instead of holding their senders' nonces until some proposer finds
    /// out) and are returned, for the node to answer them as rejected.
    public mutating func registrationsCommitted(_ txs: [SignedTx]) -> [LostRegistration] {
        var lost: [Bytes32: LostRegistration] = [:]
        for t in txs {
            for content in Self.registeredContent(t) {
                guard let held = byContent[content] else { continue }
                if case .one(let only) = held, only == t.hash { continue }  // the committed tx alone: no loser
                for h in held.all where h != t.hash && lost[h] == nil {
                    guard let loser = entries[h]?.tx else { continue }
                    let item: Int? = if case .registerWorkBatch(let works) = loser.tx.payload {
                        works.firstIndex { $0.contentHash == content }
                    } else { nil }
                    lost[h] = LostRegistration(tx: loser, contentHash: content, registrant: t.tx.sender, item: item)
                }
            }
        }
        remove(lost.keys)
        return lost.keys.sorted().compactMap { lost[$0] }
    }

    /// The pending transactions that register one content hash: nearly always one, held inline (an
    /// array per content hash cost an allocation for each work admitted and another for each work
    /// removed, in batches of up to 1,000 works on every node).
    enum Holders: Sendable, Equatable {
        case one(Bytes32)
        case many([Bytes32])

        var all: [Bytes32] {
            switch self {
            case .one(let h): [h]
            case .many(let hs): hs
            }
        }

        func adding(_ h: Bytes32) -> Holders {
            switch self {
            case .one(let first): .many([first, h])
            case .many(let hs): .many(hs + [h])
            }
        }

        /// Without `h`; nil when none is left.
        func removing(_ h: Bytes32) -> Holders? {
            if case .one(let only) = self { return only == h ? nil : self }
            let left = all.filter { $0 != h }
            return left.isEmpty ? nil : left.count == 1 ? .one(left[0]) : .many(left)
        }
    }

    /// The content hashes a transaction registers.
    static func registeredContent(_ tx: SignedTx) -> [Bytes32] {
        switch tx.tx.payload {
        case .registerWork(let w): [w.contentHash]
        case .registerWorkBatch(let works): works.map(\.contentHash)
        default: []
        }
    }

    /// Transactions for a proposal, in arrival order, each only once its sender's previous nonce is
    /// in (in committed state or earlier in the selection), within the block's bounds.
    public func select(maxTxs: Int, maxBytes: Int, accounts: some MempoolAccounts) -> [SignedTx] {
        selection(maxTxs: maxTxs, maxBytes: maxBytes, accounts: accounts).txs
    }

    /// What `select` picks, and the transactions it passed whose nonce committed state has already
    /// used (they can never commit: the caller removes them).
    public func selection(maxTxs: Int, maxBytes: Int, accounts: some MempoolAccounts) -> (txs: [SignedTx], used: [Bytes32]) {
        var picked: [SignedTx] = []
        var used: [Bytes32] = []
        var bytes = 0
        var next: [Bytes32: UInt64] = [:]
        for case let h? in order {
            guard picked.count < maxTxs else { break }
            guard let first = entries[h] else { continue }
            let sender = first.tx.tx.sender
            let committedNext = accounts.nextNonce(of: sender)
            if first.tx.tx.nonce < committedNext {
                used.append(h)
                continue
            }
            var nonce = next[sender] ?? committedNext
            guard first.tx.tx.nonce == nonce else {
                next[sender] = nonce
                continue
            }
            var current: Entry? = first
            while let c = current {
                guard picked.count < maxTxs, bytes + c.tx.bytes.count <= maxBytes else { return (picked, used) }
                picked.append(c.tx)
                bytes += c.tx.bytes.count
                nonce += 1
                // A follower that arrived earlier was held back: it goes now. A later one comes in order.
                if let fh = slots[SenderNonce(sender: sender, nonce: nonce)], let fe = entries[fh], fe.slot < first.slot {
                    current = fe
                } else {
                    current = nil
                }
            }
            next[sender] = nonce
        }
        return (picked, used)
    }

    private mutating func compactIfSparse() {
        guard holes > 1024, holes * 2 > order.count else { return }
        var compacted: [Bytes32?] = []
        compacted.reserveCapacity(entries.count)
        for case let h? in order {
            entries[h]?.slot = compacted.count
            compacted.append(h)
        }
        order = compacted
        holes = 0
    }
}

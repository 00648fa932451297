import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

/// Committed state as the mempool sees it, in memory.
struct TestAccounts: MempoolAccounts {
    var next: [Bytes32: UInt64] = [:]
    var known: Set<Bytes32> = []
    var height: UInt64?
    var committedHeight: UInt64? { height }
    func nextNonce(of sender: Bytes32) -> UInt64 { next[sender] ?? 1 }
    func isKnownSender(_ sender: Bytes32) -> Bool { known.contains(sender) }
}

@Suite("Mempool")
struct MempoolTests {
    let genesis = SHA256.hash(Array("mempool-test-genesis".utf8))
    let alice = SigningKey(seed: SHA256.hash(Array("alice".utf8)))
    let bob = SigningKey(seed: SHA256.hash(Array("bob".utf8)))
    let stranger = SigningKey(seed: SHA256.hash(Array("stranger".utf8)))

    var accounts: TestAccounts { TestAccounts(known: [alice.publicKey, bob.publicKey]) }

    func tx(_ key: SigningKey, nonce: UInt64, title: String = "t", chain: String = "totem-test") -> SignedTx {
        let work = Work(contentHash: SHA256.hash(Array("\(key.publicKey)-\(nonce)-\(title)".utf8)), imageCode: nil,
                        title: title, mediaType: "image/jpeg", width: 1, height: 1, license: "")
        return Tx(chainId: chain, sender: key.publicKey, nonce: nonce, payload: .registerWork(work))
            .signed(by: key, genesisHash: genesis)
    }

    func shared(_ limits: MempoolLimits = MempoolLimits()) -> SharedMempool {
        SharedMempool(Mempool(chainId: "totem-test", limits: limits), genesisHash: genesis)
    }

    func code(_ a: Admission) -> String? {
        if case .rejected(let e) = a { return e.code.rawValue }
        return nil
    }

    @Test func admitsValidAndRejectsBadSignature() {
        let pool = shared()
        let good = tx(alice, nonce: 1)
        let other = tx(bob, nonce: 1)
        // Alice's signature over Bob's tx bytes: decodes, but does not verify for Bob.
        let forged = try? SignedTx.decode(Array(other.txBytes) + good.signature.bytes)
        let results = pool.admit([good, forged].compactMap { $0 }, accounts: accounts)
        #expect(results[0] == .accepted)
        #expect(code(results[1]) == "bad_signature")
        #expect(pool.count == 1)
    }

    /// A signature is checked once whichever way the tx comes first: a proposal's txs that the
    /// pool does not hold are checked and remembered, so their gossip is admitted without a second
    /// check, and a tx verified at admission is not checked again in a proposal after it left the
    /// pool. A bad signature is named, and never remembered as verified.
    @Test func aSignatureIsCheckedOnceWhicheverWayTheTxComes() throws {
        let pool = shared()
        let inProposal = tx(alice, nonce: 1)
        let other = tx(bob, nonce: 1)
        let forged = try SignedTx.decode(Array(other.txBytes) + inProposal.signature.bytes)
        #expect(pool.firstBadSignature([inProposal, forged])?.hash == forged.hash)
        #expect(pool.signatureChecks == 2)
        #expect(pool.firstBadSignature([inProposal]) == nil)
        #expect(pool.signatureChecks == 2)
        // Its gossip comes after the proposal: admitted without a check.
        #expect(pool.admit([inProposal], accounts: accounts) == [.accepted])
        #expect(pool.signatureChecks == 2)
        // The forged one is checked (and refused) each time.
        #expect(code(pool.admit([forged], accounts: accounts)[0]) == "bad_signature")
        #expect(pool.signatureChecks == 3)
        // Admitted first, then the pool lets it go (committed elsewhere, evicted): still known.
        let admitted = tx(bob, nonce: 2)
        #expect(pool.admit([admitted], accounts: TestAccounts(next: [bob.publicKey: 2], known: [bob.publicKey])) == [.accepted])
        #expect(pool.signatureChecks == 4)
        _ = pool.withPool { $0.blockCommitted([admitted], accounts: TestAccounts(next: [bob.publicKey: 3], known: [bob.publicKey])) }
        #expect(!pool.withPool { $0.contains(admitted.hash) })
        #expect(pool.firstBadSignature([admitted]) == nil)
        #expect(pool.signatureChecks == 4)
    }

    func registration(_ key: SigningKey, nonce: UInt64, contents: [String]) -> SignedTx {
        let works = contents.map {
            Work(contentHash: SHA256.hash(Array($0.utf8)), imageCode: nil, title: $0, mediaType: "image/jpeg",
                 width: 1, height: 1, license: "")
        }
        return Tx(chainId: "totem-test", sender: key.publicKey, nonce: nonce,
                  payload: works.count == 1 ? .registerWork(works[0]) : .registerWorkBatch(works))
            .signed(by: key, genesisHash: genesis)
    }

    /// First registration wins: once a block registers some content, the pending registrations of
    /// it (single or inside a batch) leave the mempool and free their senders' nonces; the others stay.
    @Test func registrationsOfContentABlockRegisteredLeave() {
        var pool = Mempool(chainId: "totem-test", limits: MempoolLimits())
        let winner = registration(alice, nonce: 1, contents: ["photo"])
        let loser = registration(bob, nonce: 1, contents: ["photo"])
        let batchLoser = registration(bob, nonce: 2, contents: ["other", "photo"])
        let unrelated = registration(stranger, nonce: 1, contents: ["unrelated"])
        var a = accounts
        a.known.insert(stranger.publicKey)
        for t in [winner, loser, batchLoser, unrelated] { #expect(pool.insert(verified: t, accounts: a) == .accepted) }
        _ = pool.blockCommitted([winner], accounts: a)
        let dropped = pool.registrationsCommitted([winner])
        #expect(Set(dropped.map(\.tx.hash)) == [loser.hash, batchLoser.hash])
        #expect(dropped.allSatisfy { $0.registrant == alice.publicKey && $0.contentHash == SHA256.hash(Array("photo".utf8)) })
        #expect(dropped.first { $0.tx.hash == batchLoser.hash }?.item == 1)
        #expect(dropped.first { $0.tx.hash == loser.hash }?.item == nil)
        #expect(pool.count == 1 && pool.contains(unrelated.hash))
        // Bob's nonce 1 is free again at this node: a new tx under it is admitted.
        let retry = registration(bob, nonce: 1, contents: ["new content"])
        #expect(pool.insert(verified: retry, accounts: a) == .accepted)
        // The index follows removals: committing other content drops nothing more.
        #expect(pool.registrationsCommitted([registration(alice, nonce: 2, contents: ["photo"])]).isEmpty)
        #expect(pool.registrationsCommitted([unrelated]).isEmpty)
    }

    /// The content index holds one tx inline and more in a list, and goes back to inline or away as
    /// they leave.
    @Test func theContentIndexHoldsOneInlineAndMoreInAList() {
        let a = SHA256.hash([1]), b = SHA256.hash([2]), c = SHA256.hash([3])
        let one = Mempool.Holders.one(a)
        #expect(one.removing(b) == one && one.removing(a) == nil)
        let three = one.adding(b).adding(c)
        #expect(three == .many([a, b, c]) && three.all == [a, b, c])
        #expect(three.removing(b) == .many([a, c]))
        #expect(three.removing(b)?.removing(a) == .one(c))
        #expect(three.removing(b)?.removing(a)?.removing(c) == nil)
    }

    @Test func duplicateIsIdempotent() {
        let pool = shared()
        let t = tx(alice, nonce: 1)
        #expect(pool.admit([t], accounts: accounts) == [.accepted])
        #expect(pool.admit([t], accounts: accounts) == [.duplicate])
        #expect(pool.count == 1)
    }

    @Test func cheapChecks() {
        let pool = shared(MempoolLimits(maxTxBytes: 300))
        var acc = accounts
        acc.next[alice.publicKey] = 5
        let results = pool.admit([
            tx(stranger, nonce: 1),
            tx(alice, nonce: 4),
            tx(alice, nonce: 5 + 64),
            tx(alice, nonce: 5, chain: "other-chain"),
            tx(alice, nonce: 5, title: String(repeating: "x", count: 200)),
            tx(alice, nonce: 5 + 63),
        ], accounts: acc)
        #expect(results.map(code) == ["unknown_sender", "nonce_too_low", "nonce_too_high", "wrong_chain", "tx_too_large", nil])
    }

    @Test func firstSeenWinsForSenderNonce() {
        let pool = shared()
        let first = tx(alice, nonce: 1, title: "first")
        let second = tx(alice, nonce: 1, title: "second")
        #expect(pool.admit([first, second], accounts: accounts).map(code) == [nil, "conflicting_nonce"])
        #expect(pool.admit([second], accounts: accounts).map(code) == ["conflicting_nonce"])
        #expect(pool.withPool { $0.contains(first.hash) && !$0.contains(second.hash) })
    }

    @Test func boundedByCountBytesAndSender() {
        let byCount = shared(MempoolLimits(maxTxCount: 2))
        let r1 = byCount.admit([tx(alice, nonce: 1), tx(alice, nonce: 2), tx(bob, nonce: 1)], accounts: accounts)
        #expect(r1.map(code) == [nil, nil, "mempool_full"])

        let one = tx(alice, nonce: 1)
        let byBytes = shared(MempoolLimits(maxBytes: one.bytes.count + 10))
        let r2 = byBytes.admit([one, tx(bob, nonce: 1)], accounts: accounts)
        #expect(r2.map(code) == [nil, "mempool_full"])
        #expect(byBytes.byteCount == one.bytes.count)

        let bySender = shared(MempoolLimits(maxPerSender: 3))
        let r3 = bySender.admit((1...4).map { tx(alice, nonce: $0) } + [tx(bob, nonce: 1)], accounts: accounts)
        #expect(r3.map(code) == [nil, nil, nil, "sender_quota_exceeded", nil])
    }

    /// A pool full of transactions waiting behind nonce gaps must still take the transactions that
    /// close them, or nothing would be proposed again (seen at scale with an 8 MiB pool: blocks kept
    /// coming, empty, while every offer was refused `mempool_full`).
    @Test func aFullPoolMakesRoomForAProposableTxByEvictingGappedOnes() {
        var pool = Mempool(chainId: "totem-test", limits: MempoolLimits(maxTxCount: 4))
        // Alice's nonce 1 and Bob's nonce 1 went missing: all four wait behind gaps.
        for t in [tx(alice, nonce: 2), tx(alice, nonce: 3), tx(bob, nonce: 2), tx(bob, nonce: 3)] {
            #expect(pool.insert(verified: t, accounts: accounts) == .accepted)
        }
        #expect(pool.select(maxTxs: 10, maxBytes: 1 << 20, accounts: accounts).isEmpty)
        // Another gapped one is still refused.
        #expect(code(pool.precheck(tx(alice, nonce: 4), accounts: accounts)) == "mempool_full")
        // Alice's nonce 1 closes her gap: it evicts the newest gapped tx of someone else (Bob's 3),
        // not her own 2 and 3, which it makes proposable.
        #expect(pool.insert(verified: tx(alice, nonce: 1), accounts: accounts) == .accepted)
        #expect(pool.evictedCount == 1)
        #expect(!pool.contains(tx(bob, nonce: 3).hash) && pool.contains(tx(bob, nonce: 2).hash))
        // The node's gossip learns which: it forgets it saw them, so a peer's regossip brings them back.
        #expect(pool.takeEvicted() == [tx(bob, nonce: 3).hash])
        #expect(pool.takeEvicted().isEmpty)
        #expect(pool.select(maxTxs: 10, maxBytes: 1 << 20, accounts: accounts).map(\.tx.nonce) == [1, 2, 3])
        // Bob's nonce 1 evicts nothing of his own, and nothing else is gapped: refused.
        #expect(code(pool.insert(verified: tx(bob, nonce: 1), accounts: accounts)) == "mempool_full")
        #expect(pool.count == 4 && pool.evictedCount == 1)
        // Once a block frees room, Bob's nonce 1 gets in and his 2 follows it.
        _ = pool.blockCommitted([tx(alice, nonce: 1)], accounts: TestAccounts(
            next: [alice.publicKey: 2], known: [alice.publicKey, bob.publicKey]))
        #expect(pool.insert(verified: tx(bob, nonce: 1), accounts: accounts) == .accepted)
    }

    /// A full pool of proposable transactions searches for room once per change, not per offer.
    @Test func aFullPoolOfProposableTxsRefusesWithoutEvicting() {
        var pool = Mempool(chainId: "totem-test", limits: MempoolLimits(maxTxCount: 2))
        #expect(pool.insert(verified: tx(alice, nonce: 1), accounts: accounts) == .accepted)
        #expect(pool.insert(verified: tx(alice, nonce: 2), accounts: accounts) == .accepted)
        #expect(code(pool.insert(verified: tx(bob, nonce: 1), accounts: accounts)) == "mempool_full")
        // The search found nothing: precheck now refuses before any signature is checked.
        #expect(code(pool.precheck(tx(bob, nonce: 1), accounts: accounts)) == "mempool_full")
        pool.remove([tx(alice, nonce: 2).hash])
        #expect(pool.insert(verified: tx(bob, nonce: 1), accounts: accounts) == .accepted)
        #expect(pool.evictedCount == 0)
    }

    @Test func selectionFollowsArrivalAndHoldsGaps() {
        let pool = shared()
        let a2 = tx(alice, nonce: 2), b1 = tx(bob, nonce: 1), a1 = tx(alice, nonce: 1), a4 = tx(alice, nonce: 4)
        let a3 = tx(alice, nonce: 3)
        _ = pool.admit([a2, b1, a1, a4], accounts: accounts)
        // a2 waits for a1; a4 waits for a3, which is missing.
        let picked = pool.withPool { $0.select(maxTxs: 100, maxBytes: 1 << 20, accounts: accounts) }
        #expect(picked.map(\.hash) == [b1.hash, a1.hash, a2.hash])
        _ = pool.admit([a3], accounts: accounts)
        let again = pool.withPool { $0.select(maxTxs: 100, maxBytes: 1 << 20, accounts: accounts) }
        #expect(again.map(\.hash) == [b1.hash, a1.hash, a2.hash, a3.hash, a4.hash])
        let bounded = pool.withPool { $0.select(maxTxs: 2, maxBytes: 1 << 20, accounts: accounts) }
        #expect(bounded.map(\.hash) == [b1.hash, a1.hash])
        let byBytes = pool.withPool { $0.select(maxTxs: 100, maxBytes: b1.bytes.count + a1.bytes.count, accounts: accounts) }
        #expect(byBytes.count == 2)
    }

    @Test func evictionAfterBlock() {
        let pool = shared()
        let a1 = tx(alice, nonce: 1), a2 = tx(alice, nonce: 2), a3 = tx(alice, nonce: 3), b1 = tx(bob, nonce: 1)
        _ = pool.admit([a1, a2, a3, b1], accounts: accounts)
        // A block proposed elsewhere holds a1 and a different tx at Alice's nonce 2: our a2 is now stale.
        let other2 = tx(alice, nonce: 2, title: "elsewhere")
        var after = accounts
        after.next[alice.publicKey] = 3
        let stale = pool.withPool { $0.blockCommitted([a1, other2], accounts: after) }
        #expect(stale == [a2.hash])
        #expect(pool.withPool { [$0.contains(a1.hash), $0.contains(a2.hash), $0.contains(a3.hash), $0.contains(b1.hash)] }
                == [false, false, true, true])
        #expect(pool.byteCount == a3.bytes.count + b1.bytes.count)
        let picked = pool.withPool { $0.select(maxTxs: 10, maxBytes: 1 << 20, accounts: after) }
        #expect(picked.map(\.hash) == [a3.hash, b1.hash])
    }

    /// Found once in a network with packet loss: a transaction checked against a state snapshot
    /// taken before a block using its nonce landed was admitted after that block's cleanup, and then
    /// sat in the pool for good (never selectable, never stale), making its node propose early.
    @Test func admissionAgainstAStateOlderThanTheLastCommitIsRefusedForARecheck() {
        let pool = shared()
        var before = accounts
        before.height = 5
        var after = accounts
        after.height = 6
        after.next[alice.publicKey] = 2
        // Block 6 holds Alice's nonce 1 (a tx this node never saw); its cleanup runs first.
        _ = pool.withPool { $0.blockCommitted([tx(alice, nonce: 1, title: "elsewhere")], accounts: after) }
        // The admission that read state at height 5 arrives now.
        let late = tx(alice, nonce: 1)
        let results = pool.admit([late], accounts: before)
        #expect(results.map(code) == ["state_changed"])
        #expect(!pool.withPool { $0.contains(late.hash) })
        // Checked again against the new state, it is refused for what it is.
        #expect(pool.admit([late], accounts: after).map(code) == ["nonce_too_low"])
        #expect(pool.count == 0)
        // Current state (or a caller that cannot say its height) is admitted as before.
        #expect(pool.admit([tx(alice, nonce: 2)], accounts: after).map(code) == [nil])
    }

    @Test func selectionReportsTransactionsWhoseNonceIsUsed() {
        let pool = shared()
        let a1 = tx(alice, nonce: 1), a2 = tx(alice, nonce: 2), b1 = tx(bob, nonce: 1)
        _ = pool.admit([a1, a2, b1], accounts: accounts)
        var moved = accounts
        moved.next[alice.publicKey] = 2  // Alice's nonce 1 went in with another tx, with no cleanup here.
        let s = pool.withPool { $0.selection(maxTxs: 10, maxBytes: 1 << 20, accounts: moved) }
        #expect(s.txs.map(\.hash) == [a2.hash, b1.hash])
        #expect(s.used == [a1.hash])
    }

    @Test func compactionKeepsOrder() {
        var pool = Mempool(chainId: "totem-test", limits: MempoolLimits(maxPerSender: 64))
        var keys: [SigningKey] = []
        var acc = TestAccounts()
        for i in 0..<3000 {
            let k = SigningKey(seed: SHA256.hash(Array("k\(i)".utf8)))
            keys.append(k)
            acc.known.insert(k.publicKey)
        }
        let txs = keys.map { tx($0, nonce: 1) }
        for t in txs { #expect(pool.insert(verified: t, accounts: acc) == .accepted) }
        pool.remove(txs.prefix(2500).map(\.hash))
        #expect(pool.count == 500)
        let picked = pool.select(maxTxs: 10_000, maxBytes: 1 << 30, accounts: acc)
        #expect(picked.map(\.hash) == txs.suffix(500).map(\.hash))
    }

    @Test func parallelVerifierMatchesSerial() {
        var txs = (1...200).map { tx(alice, nonce: UInt64($0)) }
        let bad = try? SignedTx.decode(Array(txs[7].txBytes) + txs[8].signature.bytes)
        if let bad { txs[7] = bad }
        let results = ParallelVerifier.verify(txs, genesisHash: genesis)
        #expect(results == txs.map { $0.verifySignature(genesisHash: genesis) })
        #expect(results.filter { !$0 }.count == 1 && !results[7])
    }
}

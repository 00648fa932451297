import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next() % UInt64(n))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Generates transactions that the protocol says must apply, tracking the expected state itself.
struct RandomWorkload {
    var rng: SplitMix64
    let pool = (0..<24).map { Keys.key("pool-\($0)") }
    var registrars = [Keys.registrar, Keys.root]
    var unregistered = Array(0..<24)
    var active: [Int] = []
    var agencies: Set<Int> = []
    var works: [(hash: Bytes32, owner: Int)] = []
    var nextContent = 0
    var nextRegistrar = 0
    var nonces: [Bytes32: UInt64] = [:]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func signed(_ key: SigningKey, _ payload: Payload) -> SignedTx {
        let n = nonces[key.publicKey, default: 0] + 1
        nonces[key.publicKey] = n
        return Tx(chainId: "totem-test", sender: key.publicKey, nonce: n, payload: payload)
            .signed(by: key, genesisHash: Harness.genesisHash)
    }

    mutating func newWork() -> Work {
        nextContent += 1
        return Work(contentHash: SHA256.hash(Array("random-\(rng.next())-\(nextContent)".utf8)),
                    imageCode: rng.below(2) == 0 ? nil : rng.next(), title: "t\(nextContent)", mediaType: "image/png",
                    width: UInt32(rng.below(9000)), height: UInt32(rng.below(9000)), license: "")
    }

    /// Owned works whose owner can still act (not revoked).
    var actionableWorks: [Int] { works.indices.filter { active.contains(works[$0].owner) } }

    mutating func next(blockTimeMs: UInt64) -> SignedTx {
        let roll = rng.below(100)
        if active.count < 2 || roll < 12, !unregistered.isEmpty { return registerIdentity() }
        if roll < 40 || active.count < 2 { return registerWorks(count: 1) }
        if roll < 50 { return registerWorks(count: 1 + rng.below(4)) }
        let owned = actionableWorks
        if roll < 88, owned.isEmpty { return registerWorks(count: 1) }
        if roll < 62 { return transfer(rng.pick(owned)) }
        if roll < 74 {
            let w = works[rng.pick(owned)]
            let until = rng.below(2) == 0 ? 0 : blockTimeMs + 1 + UInt64(rng.below(1_000_000))
            return signed(pool[w.owner], .grantLicense(GrantLicense(contentHash: w.hash, licensee: rng.next().bytes32,
                                                                    terms: "terms \(rng.next())", validUntilMs: until)))
        }
        if roll < 88 { return claim(works[rng.pick(owned)]) }
        if roll < 92 {
            let victim = active.remove(at: rng.below(active.count))
            return signed(Keys.root, .revokeIdentity(RevokeIdentity(subject: pool[victim].publicKey, reason: "random")))
        }
        nextRegistrar += 1
        let key = Keys.key("random-registrar-\(nextRegistrar)")
        registrars.append(key)
        return signed(Keys.root, .addRegistrar(AddRegistrar(subject: key.publicKey, name: "R\(nextRegistrar)")))
    }

    private mutating func registerIdentity() -> SignedTx {
        let i = unregistered.remove(at: rng.below(unregistered.count))
        active.append(i)
        let role: IdentityRole = rng.below(3) == 0 ? .agency : .photographer
        if role == .agency { agencies.insert(i) }
        let registrar = rng.pick(registrars)
        return signed(registrar, .registerIdentity(RegisterIdentity(subject: pool[i].publicKey, displayName: "p\(i)",
                                                                    role: role, kycDigest: rng.next().bytes32)))
    }

    private mutating func registerWorks(count: Int) -> SignedTx {
        let owner = rng.pick(active)
        let items = (0..<count).map { _ in newWork() }
        for w in items { works.append((w.contentHash, owner)) }
        return signed(pool[owner], count == 1 && rng.below(2) == 0 ? .registerWork(items[0]) : .registerWorkBatch(items))
    }

    private mutating func transfer(_ index: Int) -> SignedTx {
        let from = works[index].owner
        let candidates = active.filter { $0 != from }
        guard !candidates.isEmpty else { return registerWorks(count: 1) }
        let to = rng.pick(candidates)
        works[index].owner = to
        return signed(pool[from], .transferWork(TransferWork(contentHash: works[index].hash, newOwner: pool[to].publicKey)))
    }

    private mutating func claim(_ w: (hash: Bytes32, owner: Int)) -> SignedTx {
        let activeAgencies = active.filter { agencies.contains($0) }
        let claimant = activeAgencies.isEmpty || rng.below(2) == 0 ? w.owner : rng.pick(activeAgencies)
        return signed(pool[claimant], .fileClaim(FileClaim(contentHash: w.hash, infringingDigest: rng.next().bytes32,
                                                           locator: "https://x/\(rng.next())", note: "")))
    }
}

private extension UInt64 {
    var bytes32: Bytes32 { Bytes32(w0: self, w1: ~self, w2: self &* 3, w3: 0) }
}

@Suite("State machine: properties over random valid sequences")
struct StateMachinePropertyTests {
    /// Runs `blocks` random blocks through the builder and validator; every generated tx applies.
    static func run(seed: UInt64, blocks: Int) -> (Harness, RandomWorkload) {
        var h = Harness()
        var load = RandomWorkload(seed: seed)
        for _ in 0..<blocks {
            let count = load.rng.below(12)
            let time = h.timeMs + 1000
            let txs = (0..<count).map { _ in load.next(blockTimeMs: time) }
            h.commit(txs)
        }
        return (h, load)
    }

    @Test(arguments: [1, 2, 3, 42, 0xdead_beef, 7_777_777] as [UInt64])
    func everyValidTxAppliesAndReplayGivesTheSameRoots(seed: UInt64) {
        let (h, _) = Self.run(seed: seed, blocks: 25)
        #expect(h.blocks.reduce(0) { $0 + $1.txs.count } > 50, "seed \(seed)")
        var replay = Harness()
        for block in h.blocks {
            switch replay.sm.apply(block, parent: replay.parent, state: replay.state) {
            case .success(let outcome):
                #expect(outcome.stateRoot == block.header.stateRoot, "seed \(seed) height \(block.height)")
                replay.state.apply(outcome.changes)
                replay.parent = ParentInfo(header: block.header)
            case .failure(let e):
                Issue.record("seed \(seed): replay of block \(block.height) failed: \(e)"); return
            }
        }
        #expect(replay.state.tables == h.state.tables)
        Self.checkWorksByOwner(h.state, seed: seed)
    }

    @Test func sameSeedSameChain() {
        let (a, _) = Self.run(seed: 99, blocks: 10), (b, _) = Self.run(seed: 99, blocks: 10)
        #expect(a.blocks.map(\.hash) == b.blocks.map(\.hash))
        let (c, _) = Self.run(seed: 100, blocks: 10)
        #expect(a.parent.stateRoot != c.parent.stateRoot)
    }

    /// Every work is listed once under its current owner, at the height it was acquired.
    static func checkWorksByOwner(_ state: MemoryState, seed: UInt64) {
        let works = state.tables.filter { $0.key.table == .works }
        let byOwner = state.tables.filter { $0.key.table == .worksByOwner }
        #expect(works.count == byOwner.count, "seed \(seed)")
        for (key, value) in works {
            let r = WorkRecord.decodeStored(value, .works)
            let k = StateKeys.workByOwner(owner: r.owner, sinceHeight: r.ownerSinceHeight, contentHash: r.work.contentHash)
            #expect(state.get(.worksByOwner, k) == [], "seed \(seed) work \(key.key)")
        }
    }

    /// Shuffled, duplicated and forged candidates: the builder's block always validates, its
    /// header is what a replica computes, and the candidates split exactly into included (in
    /// candidate order), rejected and untried.
    @Test(arguments: [5, 6, 7, 8, 9, 10] as [UInt64])
    func builderOutputAlwaysValidates(seed: UInt64) throws {
        var (h, load) = Self.run(seed: seed, blocks: 5)
        var rng = SplitMix64(seed: seed ^ 0x5eed)
        var candidates = (0..<30).map { _ in load.next(blockTimeMs: h.timeMs + 1000) }
        candidates += candidates.prefix(3)
        candidates.append(Tx(chainId: "totem-test", sender: Keys.registrar.publicKey, nonce: h.nonce(Keys.registrar),
                             payload: .removeRegistrar(subject: Keys.registrar.publicKey))
            .signed(by: Keys.stranger, genesisHash: Harness.genesisHash))
        candidates.shuffle(using: &rng)
        let built = h.sm.buildBlock(candidates: candidates, parent: h.parent, state: h.state,
                                    timestampMs: h.timeMs + 1000, view: 0, proposer: .zero, signatures: .verify)
        #expect(built.firstUntried == candidates.count)
        #expect(built.block.txs.count + built.rejected.count == candidates.count)
        #expect(!built.block.txs.isEmpty && built.rejected.count >= 4, "seed \(seed)")
        let rejected = Set(built.rejected.map(\.candidateIndex))
        let kept = candidates.indices.filter { !rejected.contains($0) }.map { candidates[$0] }
        #expect(kept == built.block.txs)
        let outcome = h.sm.apply(built.block, parent: h.parent, state: h.state)
        #expect(try outcome.get() == built.outcome, "seed \(seed)")
        h.commit(built.block.txs)
    }
}



// Microbenchmarks of the primitives the node's throughput rests on. Run in release:
//   swift run -c release Microbench
// It prints measured figures and the conditions; it asserts nothing.
import Benchmarks
import ChainModel
import ChainState
import Dispatch
import Foundation
import Storage
import TotemCrypto

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
func rate(_ label: String, seconds: Double = 1.5, batch: Int, _ body: () -> Void) -> Double {
    body()  // warm up
    let start = DispatchTime.now().uptimeNanoseconds
    var ops = 0
    var elapsed = 0.0
    repeat {
        body()
        ops += batch
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    let r = Double(ops) / elapsed
    report(label, r, "/s")
    return r
}

func report(_ label: String, _ value: Double, _ unit: String) {
    print(label.padding(toLength: 46, withPad: " ", startingAt: 0) + String(format: "%14.0f ", value) + unit)
}

func sampleTx(_ key: SigningKey, genesis: Bytes32, nonce: UInt64) -> SignedTx {
    let work = Work(contentHash: SHA256.hash(Array("work-\(nonce)".utf8)), imageCode: 0x1234_5678_9abc_def0,
                    title: "Sunrise over the harbour, frame \(nonce)", mediaType: "image/jpeg",
                    width: 6000, height: 4000, license: "All rights reserved")
    return Tx(chainId: "totem-bench", sender: key.publicKey, nonce: nonce, payload: .registerWork(work))
        .signed(by: key, genesisHash: genesis)
}

let cpus = ProcessInfo.processInfo.activeProcessorCount
print("Totem microbenchmarks — \(cpus) CPUs, \(ProcessInfo.processInfo.operatingSystemVersionString)")
let genesis = SHA256.hash(Array("bench-genesis".utf8))
let key = SigningKey(seed: SHA256.hash(Array("bench-key".utf8)))
let txs = (1...1000).map { sampleTx(key, genesis: genesis, nonce: UInt64($0)) }
print("RegisterWork SignedTx: \(txs[0].bytes.count) bytes")

_ = rate("Ed25519 verify (1 core)", batch: 1000) {
    for t in txs { precondition(t.verifySignature(genesisHash: genesis)) }
}
_ = rate("Ed25519 verify (all cores, ParallelVerifier)", batch: 1000) {
    precondition(!ParallelVerifier.verify(txs, genesisHash: genesis).contains(false))
}
_ = rate("Ed25519 sign", batch: 1000) {
    for t in txs { _ = key.sign(.tx, genesisHash: genesis, body: t.txBytes) }
}
let mib = [UInt8](repeating: 0xa5, count: 1 << 20)
let shaRate = rate("SHA-256 (MiB, 1 MiB buffers)", batch: 16) {
    for _ in 0..<16 { _ = SHA256.hash(mib) }
}
report("SHA-256 throughput", shaRate * 1.048576, "MB/s")
let crcRate = rate("CRC-32C (MiB; the store's record checksum)", batch: 16) {
    for _ in 0..<16 { _ = CRC32C.checksum(mib) }
}
report("CRC-32C throughput", crcRate * 1.048576, "MB/s")
_ = rate("SHA-256 of a 250-byte tx", batch: 1000) {
    for t in txs { _ = SHA256.hash(t.bytes) }
}
_ = rate("encode RegisterWork Tx", batch: 1000) {
    for t in txs { _ = t.tx.encoded }
}
_ = rate("decode RegisterWork SignedTx (with hash)", batch: 1000) {
    for t in txs { _ = try? SignedTx.decode(t.bytes) }
}
_ = rate("txRoot of 1000 txs (blocks/s x1000)", batch: 1000) {
    _ = Block.txRoot(txs)
}

// MARK: Chain: build, validate and commit real 1000-tx blocks through the state machine and LMDB.

func chainBenchmark(blocks: Int, txsPerBlock: Int) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("totem-microbench-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let registrar = SigningKey(seed: SHA256.hash(Array("bench-registrar".utf8)))
    let validator = SigningKey(seed: SHA256.hash(Array("bench-validator".utf8)))
    let genesis = try Genesis.build(
        chainId: "totem-bench", genesisTimeMs: 1_700_000_000_000, rootRegistrar: SHA256.hash(Array("root".utf8)),
        registrars: [GenesisRegistrar(name: "bench", publicKey: registrar.publicKey)],
        validators: [GenesisValidator(name: "v", publicKey: validator.publicKey, p2pAddress: "127.0.0.1:1")],
        params: .standard)
    let machine = StateMachine(config: ChainConfig(genesis: genesis))
    let store = try ChainStore(directory: dir, genesisHash: genesis.genesisHash, genesisValidators: genesis.validatorSet)
    try store.writeGenesisStateIfNew(machine.genesisChanges())
    let identities = (0..<txsPerBlock).map { SigningKey(seed: SHA256.hash(Array("bench-id-\($0)".utf8))) }
    var parent = machine.genesisParent
    var time = genesis.genesisTimeMs
    var buildSeconds = 0.0, applySeconds = 0.0, commitSeconds = 0.0, committedTxs = 0
    for b in 0...blocks {
        let txs: [SignedTx] = b == 0
            ? identities.enumerated().map { i, k in
                Tx(chainId: "totem-bench", sender: registrar.publicKey, nonce: UInt64(i + 1),
                   payload: .registerIdentity(RegisterIdentity(subject: k.publicKey, displayName: "id \(i)", role: .photographer,
                                                               kycDigest: .zero))).signed(by: registrar, genesisHash: genesis.genesisHash)
            }
            : identities.enumerated().map { i, k in
                let work = Work(contentHash: SHA256.hash(Array("work-\(b)-\(i)".utf8)), imageCode: UInt64(b * 100_000 + i),
                                title: "Frame \(b)/\(i)", mediaType: "image/jpeg", width: 6000, height: 4000, license: "")
                return Tx(chainId: "totem-bench", sender: k.publicKey, nonce: UInt64(b), payload: .registerWork(work))
                    .signed(by: k, genesisHash: genesis.genesisHash)
            }
        time += 1000
        var t0 = DispatchTime.now().uptimeNanoseconds
        let built = try store.withState { reader in
            machine.buildBlock(candidates: txs, parent: parent, state: reader, timestampMs: time, view: 0,
                               proposer: validator.publicKey)
        }
        precondition(built.rejected.isEmpty && built.block.txs.count == txs.count, "benchmark txs must apply")
        var t1 = DispatchTime.now().uptimeNanoseconds
        if b > 0 { buildSeconds += Double(t1 - t0) / 1e9 }
        t0 = t1
        let applied = try store.withState { machine.apply(built.block, parent: parent, state: $0, signatures: .alreadyVerified) }
        guard case .success(let outcome) = applied else { fatalError("benchmark block does not validate") }
        t1 = DispatchTime.now().uptimeNanoseconds
        if b > 0 { applySeconds += Double(t1 - t0) / 1e9 }
        t0 = t1
        let cert = CommitCertificate(height: built.block.height, view: 0, signatures: [])
        try await store.commit(built.block, certificate: cert, changes: outcome.changes)
        t1 = DispatchTime.now().uptimeNanoseconds
        if b > 0 {
            commitSeconds += Double(t1 - t0) / 1e9
            committedTxs += txs.count
        }
        parent = ParentInfo(header: built.block.header)
    }
    let readStarted = DispatchTime.now().uptimeNanoseconds
    for height in 2...UInt64(blocks + 1) {
        let read = try store.block(at: height)
        precondition(read?.txs.count == txsPerBlock, "a committed benchmark block reads back")
    }
    let readSeconds = Double(DispatchTime.now().uptimeNanoseconds - readStarted) / 1e9
    await store.shutdown()
    print("chain: \(blocks) blocks of \(txsPerBlock) RegisterWork txs (signatures excluded)")
    report("  build a block (state machine, leader)", Double(blocks) / buildSeconds, "blocks/s")
    report("  validate a block (state machine, replica)", Double(blocks) / applySeconds, "blocks/s")
    report("  LMDB commit of a 1000-tx block (synced)", Double(blocks) / commitSeconds, "blocks/s")
    report("  LMDB commit throughput", Double(committedTxs) / commitSeconds, "txs/s")
    report("  read a stored 1000-tx block (checked, decoded)", Double(blocks) / readSeconds, "blocks/s")
}

// MARK: Point lookups in a large random-key table (a node's works table: misses at admission).

func lookupBenchmark(entries: Int, lookups: Int) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("totem-microbench-lookups-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let env = try LMDBEnvironment(directory: dir, databases: ["works"])
    guard let db = env.databases.first else { fatalError("no database") }
    let value = [UInt8](repeating: 7, count: 150)
    let batch = 50_000
    for start in stride(from: 0, to: entries, by: batch) {
        try env.write { txn in
            for i in start..<min(entries, start + batch) {
                try txn.put(db, key: SHA256.hash(Array("present-\(i)".utf8)).bytes, value: value)
            }
        }
    }
    let hits = (0..<lookups).map { SHA256.hash(Array("present-\($0 * 7 % entries)".utf8)).bytes }
    let misses = (0..<lookups).map { SHA256.hash(Array("absent-\($0)".utf8)).bytes }
    for (label, keys, expected) in [("hit", hits, true), ("miss", misses, false)] {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let found = try env.read { txn in try keys.reduce(0) { try $0 + (txn.contains(db, key: $1) ? 1 : 0) } }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        precondition(found == (expected ? keys.count : 0), "lookups must find exactly the stored keys")
        report("  \(label), one read transaction", Double(keys.count) / seconds, "lookups/s")
    }
}

// MARK: Mempool admission: cheap checks, then signatures on all cores, then insert.

struct BenchAccounts: MempoolAccounts {
    func nextNonce(of sender: Bytes32) -> UInt64 { 1 }
    func isKnownSender(_ sender: Bytes32) -> Bool { true }
}

func admissionBenchmark(txCount: Int) {
    let senders = (0..<txCount).map { SigningKey(seed: SHA256.hash(Array("adm-\($0)".utf8))) }
    let txs = senders.map { sampleTx($0, genesis: genesis, nonce: 1) }
    let pool = SharedMempool(Mempool(chainId: "totem-bench", limits: MempoolLimits(maxTxCount: txCount * 2)),
                             genesisHash: genesis)
    let start = DispatchTime.now().uptimeNanoseconds
    var admitted = 0
    for batch in stride(from: 0, to: txs.count, by: 1000) {
        admitted += pool.admit(Array(txs[batch..<min(batch + 1000, txs.count)]), accounts: BenchAccounts())
            .filter { $0 == .accepted }.count
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    precondition(admitted == txCount, "every benchmark tx must be admitted")
    report("mempool admission, signature-checked (batches of 1000)", Double(admitted) / seconds, "txs/s")
}

admissionBenchmark(txCount: 20_000)
try await chainBenchmark(blocks: 20, txsPerBlock: 1000)
print("point lookups: 32-byte random keys, 150-byte values, 10^6 entries, 200,000 lookups")
try lookupBenchmark(entries: 1_000_000, lookups: 200_000)

// MARK: Gossip: 4 P2P nodes in this process on loopback, each checking every signature.

for verify in [false, true] {
    let r = try await GossipBenchmark.run(nodeCount: 4, txCount: 20_000, batchSize: 500, verifySignatures: verify)
    report("gossip to all of 4 nodes\(verify ? ", signatures checked" : ", transport only")", r.txsPerSecond, "txs/s")
    report("  per CPU-second", r.txsPerCpuSecond, "txs/cpu-s")
}

// MARK: Similarity index

if CommandLine.arguments.contains("--similarity") {
    print(SimilarityBenchmark.format(try SimilarityBenchmark.run(codeCounts: [1_000_000, 10_000_000])))
} else {
    print("(similarity index over 10^6 and 10^7 codes: run with --similarity; figures in docs/fingerprint.md)")
}

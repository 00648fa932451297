import ChainModel
import Foundation
import TotemCrypto

/// How the load is laid out: identities are split into one group per node (identity i goes to node
/// i mod G, so each identity's nonces reach one node in order), and each group's txs form one
/// sequence: the k-th tx of group g is sent by `members[g][k mod m]` with nonce `k / m + 1`.
/// Round-robin over identities keeps every identity's window equally full.
struct BenchPlan: Sendable {
    let identityCount: Int
    let groupCount: Int
    /// Target tx/s of each group; 0 = as fast as accepted.
    let ratePerGroup: Double
    let duration: Double
    /// Most seconds after the timed phase spent waiting for (and retrying) txs in flight.
    let drain: Double
    let batch: Int
    let presignPerGroup: Int
    let imageCode: Bool
    /// Works per transaction: 1 sends RegisterWork, more send RegisterWorkBatch.
    let worksPerTx: Int
    /// Identity indices of each group.
    let members: [[Int]]

    init(identityCount: Int, groupCount: Int, rate: Double, duration: Double, batch: Int, presignCap: Int, imageCode: Bool,
         drain: Double, worksPerTx: Int = 1) {
        let groups = max(1, min(groupCount, identityCount))
        self.identityCount = identityCount
        self.groupCount = groups
        self.ratePerGroup = rate / Double(groups)
        self.duration = duration
        self.drain = drain
        self.batch = batch
        self.imageCode = imageCode
        self.worksPerTx = worksPerTx
        self.members = (0..<groups).map { g in Array(stride(from: g, to: identityCount, by: groups)) }
        let capPerGroup = presignCap / groups
        if rate > 0 {
            // What the run will send at the target rate, a little over for the last slice.
            let needed = Int((ratePerGroup * duration * 1.02).rounded(.up)) + batch
            presignPerGroup = min(needed, capPerGroup)
        } else {
            presignPerGroup = capPerGroup
        }
    }

    func identity(group: Int, seq: Int) -> Int { members[group][seq % members[group].count] }
    func nonce(group: Int, seq: Int) -> UInt64 { UInt64(seq / members[group].count) + 1 }
}

/// A signed tx ready to send: its encoding and hash, nothing else (about 250 bytes, or about 100
/// bytes per work of a batch).
struct PresignedTx: Sendable {
    let bytes: [UInt8]
    let hash: Bytes32
}

/// Signs the bench's RegisterWork txs: before the timed phase on all cores, and on the fly when the
/// pre-signed ones run out.
struct BenchSigner: Sendable {
    let keys: [SigningKey]
    let chain: APIClient.ChainInfo
    let plan: BenchPlan

    /// A RegisterWork of a fresh random work (or a RegisterWorkBatch of `plan.worksPerTx` of them),
    /// signed by the sender of `seq` in `group`.
    func make(group: Int, seq: Int) -> PresignedTx {
        var rng = SystemRandomNumberGenerator()
        let works = (0..<plan.worksPerTx).map { _ in
            Work(contentHash: Bytes32(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()),
                 imageCode: plan.imageCode ? rng.next() : nil, title: "bench work",
                 mediaType: "image/jpeg", width: 4000, height: 3000, license: "")
        }
        let key = keys[plan.identity(group: group, seq: seq)]
        let tx = Tx(chainId: chain.chainId, sender: key.publicKey, nonce: plan.nonce(group: group, seq: seq),
                    payload: works.count == 1 ? .registerWork(works[0]) : .registerWorkBatch(works))
            .signed(by: key, genesisHash: chain.genesisHash)
        return PresignedTx(bytes: tx.bytes, hash: tx.hash)
    }

    /// Each group's first `plan.presignPerGroup` txs, signed in parallel on all cores.
    func presignAll() async -> [[PresignedTx]] {
        let perGroup = plan.presignPerGroup
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = max(1024, (perGroup + cores - 1) / cores)
        var out: [[PresignedTx]] = []
        for g in 0..<plan.groupCount {
            let parts = await withTaskGroup(of: (Int, [PresignedTx]).self) { group in
                for start in stride(from: 0, to: perGroup, by: chunk) {
                    let end = min(start + chunk, perGroup)
                    group.addTask { (start, (start..<end).map { make(group: g, seq: $0) }) }
                }
                var parts: [(Int, [PresignedTx])] = []
                for await p in group { parts.append(p) }
                return parts
            }
            var txs: [PresignedTx] = []
            txs.reserveCapacity(perGroup)
            for (_, p) in parts.sorted(by: { $0.0 < $1.0 }) { txs.append(contentsOf: p) }
            out.append(txs)
        }
        return out
    }
}

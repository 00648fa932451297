import ChainModel
import NIOConcurrencyHelpers
import NIOPosix
import P2P
import P2PWire
import TotemCrypto

/// Gossip throughput on loopback: `nodeCount` nodes in a full mesh in this process, one of them
/// gossiping signed transactions, the others admitting them (checking each signature, as the
/// mempool will) and forwarding. Call from the Microbench executable or a test.
public enum GossipBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var nodes: Int
        public var txs: Int
        public var seconds: Double
        /// CPU time the whole process used meanwhile (all threads): on a shared machine, the figure
        /// that does not depend on what else runs.
        public var cpuSeconds: Double
        /// Transactions delivered to every node, per second.
        public var txsPerSecond: Double { Double(txs) / seconds }
        /// Transactions delivered to every node per CPU-second.
        public var txsPerCpuSecond: Double { Double(txs) / cpuSeconds }

        public var description: String {
            "gossip: \(txs) txs delivered to all \(nodes) nodes in \(Int(seconds * 1000)) ms = \(Int(txsPerSecond)) txs/s; "
                + "\(Int(cpuSeconds * 1000)) ms of CPU = \(Int(txsPerCpuSecond)) txs per CPU-second"
        }
    }

    /// Counts admitted transactions and wakes the benchmark when a node has them all.
    final class CountingAdmission: TxAdmission {
        struct State {
            var count = 0
            var target = Int.max
            var waiter: CheckedContinuation<Void, Never>?
        }

        let genesisHash: Bytes32
        let verify: Bool
        let state = NIOLockedValueBox(State())

        init(genesisHash: Bytes32, verify: Bool) { self.genesisHash = genesisHash; self.verify = verify }

        func admit(_ txs: [SignedTx], from peer: Bytes32) async -> [SignedTx] {
            let admitted = verify ? txs.filter { $0.verifySignature(genesisHash: genesisHash) } : txs
            let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { s in
                s.count += admitted.count
                guard s.count >= s.target else { return nil }
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
            return admitted
        }

        func waitFor(_ target: Int) async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let done = state.withLockedValue { s in
                    s.target = target
                    if s.count >= target { return true }
                    s.waiter = c
                    return false
                }
                if done { c.resume() }
            }
        }
    }

    /// Runs the benchmark: builds `txCount` signed transactions first (not timed), forms the mesh,
    /// then times from the first `gossip` call until every other node has admitted all of them.
    public static func run(nodeCount: Int = 4, txCount: Int = 50_000, batchSize: Int = 500,
                           verifySignatures: Bool = true) async throws -> Result {
        precondition(nodeCount >= 2 && txCount > 0 && batchSize > 0, "benchmark parameters")
        let genesis = SHA256.hash(Array("gossip benchmark".utf8))
        let chainId = "totem-bench"
        let sender = SigningKey(seed: SHA256.hash(Array("bench sender".utf8)))
        let txs: [SignedTx] = (0..<txCount).map { i in
            Tx(chainId: chainId, sender: sender.publicKey, nonce: UInt64(i + 1),
               payload: .removeRegistrar(subject: SHA256.hash(Array("work \(i)".utf8))))
                .signed(by: sender, genesisHash: genesis)
        }
        let keys = (0..<nodeCount).map { SigningKey(seed: SHA256.hash(Array("bench node \($0)".utf8))) }
        let allow = AllowList(validatorsInForce: Set(keys.map(\.publicKey)))
        let admissions = keys.map { _ in CountingAdmission(genesisHash: genesis, verify: verifySignatures) }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            // Each node dials those started before it, so the ports are known.
            var nodes: [P2PNode] = []
            var addresses: [PeerAddress] = []
            for (i, key) in keys.enumerated() {
                var config = P2PConfig(listenHost: "127.0.0.1", listenPort: 0, peers: addresses, nodeKey: key,
                                       chainId: chainId, genesisHash: genesis, role: .validator)
                config.dialBackoffBaseMs = 50
                config.inboundRateLimit = RateLimit(messagesPerSecond: 100_000, messagesBurst: 100_000,
                                                    bytesPerSecond: 1 << 30, bytesBurst: 1 << 30)
                let node = P2PNode(config: config, allowList: allow, admission: admissions[i])
                group.addTask { try await node.run() }
                let port = try await node.listeningPort()
                addresses.append(PeerAddress(key: key.publicKey, host: "127.0.0.1", port: port))
                nodes.append(node)
            }
            let meshDeadline = ContinuousClock.now + .seconds(20)
            while nodes.contains(where: { $0.peers().count < nodeCount - 1 }) {
                guard ContinuousClock.now < meshDeadline else { throw P2PError(.connectionClosed, "mesh did not form") }
                try await Task.sleep(for: .milliseconds(20))  // polling the mesh; not part of the timing
            }
            let start = ContinuousClock.now
            let cpuStart = processCPUSeconds()
            // Keep at most `window` transactions in flight, below the per-peer queue limit, so the
            // benchmark measures delivery rather than the drop policy.
            let window = P2PLimits.outboundTxQueueMaxCountDefault / 2
            var i = 0
            while i < txs.count {
                for a in admissions.dropFirst() { await a.waitFor(i - window) }
                nodes[0].gossip(Array(txs[i..<min(i + batchSize, txs.count)]))
                i += batchSize
            }
            for a in admissions.dropFirst() { await a.waitFor(txCount) }
            let elapsed = ContinuousClock.now - start
            let cpu = processCPUSeconds() - cpuStart
            for node in nodes { node.shutdown() }
            try await group.waitForAll()
            let (s, atto) = elapsed.components
            return Result(nodes: nodeCount, txs: txCount, seconds: Double(s) + Double(atto) / 1e18, cpuSeconds: cpu)
        }
    }

    /// CPU time used by this process so far, all threads.
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

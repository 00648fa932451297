import ArgumentParser
import ChainModel
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TotemCrypto

/// `totemd bench`: a load generator over the public HTTP API.
///
/// Setup: appoint a fresh registrar (AddRegistrar signed by the root registrar) and register N fresh
/// identities with it. Then, for `--duration` seconds, submit signed single-signature RegisterWork
/// txs (random content hashes) at `--rate` tx/s or as fast as the nodes accept them, each identity's
/// nonces in sequence with at most `BenchLimits.nonceWindow` in flight. Commit latency is measured
/// from the POST that first carried a tx to the moment the bench sees it in a committed block
/// (following `GET /v1/blocks/{h}` on the first node).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load generator: submit RegisterWork txs and report committed tx/s and commit latency.",
        discussion: """
        Example (devnet of scripts/devnet.sh): totemd bench --api http://127.0.0.1:26701 \
        --api http://127.0.0.1:26702 --root-key devnet/root_registrar.json --rate 1000 --duration 30
        """)

    @Option(name: .long, parsing: .singleValue,
            help: "Base URL of a node's HTTP API; repeat (or separate by commas) to spread load; blocks are followed on the first (default: http://127.0.0.1:26701).")
    var api: [String] = []
    @Option(name: .long, help: "The root registrar's key file (appoints the bench's registrar).")
    var rootKey: String = "devnet/root_registrar.json"
    @Option(name: .long, help: "Number of identities that register works (each with its own nonce sequence).")
    var identities: Int = 200
    @Option(name: .long, help: "Target rate in tx/s over all nodes; 0 = as fast as the nodes accept.")
    var rate: Double = 0
    @Option(name: .long, help: "Seconds of load (the timed phase).")
    var duration: Double = 30
    @Option(name: .long, help: "Most txs per POST /v1/txs (1 to 1000).")
    var batch: Int = 100
    @Option(name: .long, help: "Concurrent POSTs in flight over all nodes (at least one per node).")
    var concurrency: Int = 4
    @Option(name: .long, help: "Most txs signed before the timed phase (bounds memory; more are signed on the fly).")
    var presign: Int = 250_000
    @Option(name: .long, help: "Milliseconds to pause after a 404 for the next block (the node waits up to 1 s for it first).")
    var pollMs: Int = 5
    @Option(name: .long, help: "Most seconds to wait after the timed phase for txs still in flight.")
    var drain: Double = 30
    @Flag(name: .long, inversion: .prefixedNo, help: "Give each work a random ISCC image code (indexed by the node).")
    var imageCode = true
    @Option(name: .long, help: "Works per transaction: 1 sends RegisterWork, 2 to 1000 RegisterWorkBatch.")
    var worksPerTx: Int = 1

    func validate() throws {
        guard (1...BenchLimits.identitiesMax).contains(identities) else {
            throw ValidationError("--identities must be 1 to \(BenchLimits.identitiesMax)")
        }
        guard rate >= 0, rate <= BenchLimits.ratePerSecondMax else {
            throw ValidationError("--rate must be 0 to \(Int(BenchLimits.ratePerSecondMax))")
        }
        guard duration > 0, duration <= BenchLimits.durationMaxSeconds else {
            throw ValidationError("--duration must be above 0 and at most \(Int(BenchLimits.durationMaxSeconds))")
        }
        guard (1...BenchLimits.txsPerPostMax).contains(batch) else {
            throw ValidationError("--batch must be 1 to \(BenchLimits.txsPerPostMax)")
        }
        guard (1...BenchLimits.concurrencyMax).contains(concurrency) else {
            throw ValidationError("--concurrency must be 1 to \(BenchLimits.concurrencyMax)")
        }
        guard (0...BenchLimits.presignedTxsMax).contains(presign) else {
            throw ValidationError("--presign must be 0 to \(BenchLimits.presignedTxsMax)")
        }
        guard Limits.batchWorksCount.contains(worksPerTx) else { throw ValidationError("--works-per-tx must be 1 to 1000") }
        guard (1...1000).contains(pollMs) else { throw ValidationError("--poll-ms must be 1 to 1000") }
        guard drain >= 0, drain <= BenchLimits.durationMaxSeconds else {
            throw ValidationError("--drain must be 0 to \(Int(BenchLimits.durationMaxSeconds))")
        }
        guard apiURLs.count <= BenchLimits.nodesMax else { throw ValidationError("at most \(BenchLimits.nodesMax) --api") }
    }

    /// The node URLs, in order, without repeats; the devnet's anchor node when none is given.
    var apiURLs: [String] {
        var seen = Set<String>(), out: [String] = []
        for part in api.flatMap({ $0.split(separator: ",") }) {
            var u = part.trimmingCharacters(in: .whitespaces)
            while u.hasSuffix("/") { u.removeLast() }
            if !u.isEmpty, seen.insert(u).inserted { out.append(u) }
        }
        return out.isEmpty ? ["http://127.0.0.1:26701"] : out
    }

    func run() async throws {
        let urls = apiURLs
        let config = URLSessionConfiguration.default
        config.httpMaximumConnectionsPerHost = concurrency + 2
        config.timeoutIntervalForRequest = 30
        let session = URLSession(configuration: config)
        let clients = urls.map { APIClient(base: $0, session: session) }

        let root: SigningKey
        do { root = try KeyFile.read(path: rootKey) } catch { throw ValidationError(error.message) }
        let chain: APIClient.ChainInfo
        do { chain = try await clients[0].status() } catch {
            throw BenchError("cannot reach \(urls[0]): \(error). Is the devnet up (scripts/devnet.sh up)?")
        }

        let setup = BenchSetup(client: clients[0], chain: chain, log: Self.log)
        let keys = try await setup.run(root: root, identities: identities)

        let plan = BenchPlan(identityCount: identities, groupCount: clients.count, rate: rate, duration: duration,
                             batch: batch, presignCap: presign / worksPerTx, imageCode: imageCode, drain: drain,
                             worksPerTx: worksPerTx)
        // Every tx of a run has the same size: one that the chain refuses for its size would make
        // a run of refusals, so say it now with how many works do fit.
        let sampleBytes = BenchSigner(keys: keys, chain: chain, plan: plan).make(group: 0, seq: 0).bytes.count
        if sampleBytes > chain.maxTxBytes {
            let perWork = max(1, sampleBytes / worksPerTx)
            throw BenchError("a tx of \(worksPerTx) works is \(sampleBytes) bytes, over the chain's maxTxBytes of "
                             + "\(chain.maxTxBytes): use --works-per-tx \(max(1, worksPerTx * chain.maxTxBytes / sampleBytes - 1)) "
                             + "or less (about \(perWork) bytes per work)")
        }
        Self.log("pre-signing up to \(plan.presignPerGroup * clients.count) txs of \(worksPerTx) work(s) on all cores…")
        let signStart = ContinuousClock.now
        let presigned = await BenchSigner(keys: keys, chain: chain, plan: plan).presignAll()
        Self.log("pre-signed \(presigned.reduce(0) { $0 + $1.count }) txs in \(Self.seconds(ContinuousClock.now - signStart)) s")

        let load = BenchLoad(plan: plan, keys: keys, chain: chain, presigned: presigned)
        let conditions = BenchConditions(urls: urls, identities: identities, rate: rate, duration: duration, batch: batch,
                                         concurrency: max(concurrency, clients.count), pollMs: pollMs, imageCode: imageCode,
                                         worksPerTx: worksPerTx,
                                         presigned: presigned.reduce(0) { $0 + $1.count })
        let startHeight = try await clients[0].status().height
        let metricsBefore = await Self.scrapeAll(clients)
        let cpuBefore = Self.cpuSeconds()
        var outcome = try await load.run(clients: clients, concurrency: conditions.concurrency,
                                         followFrom: startHeight + 1, pollMs: pollMs, log: Self.log)
        outcome.generatorCPUSeconds = Self.cpuSeconds() - cpuBefore
        let metricsAfter = await Self.scrapeAll(clients)
        outcome.nodeLines = zip(urls, zip(metricsBefore, metricsAfter)).map { url, m in
            "\(url): " + BenchNodeMetrics.describe(before: m.0, after: m.1)
        }
        BenchReport(conditions: conditions, outcome: outcome).print()
    }

    static func scrapeAll(_ clients: [APIClient]) async -> [BenchNodeMetrics?] {
        var out: [BenchNodeMetrics?] = []
        for c in clients { out.append(await BenchNodeMetrics.scrape(c)) }
        return out
    }

    /// Progress goes to stderr, so stdout holds only the report.
    @Sendable static func log(_ line: String) {
        FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
    }

    #if os(Linux)
    private static let rusageSelf = RUSAGE_SELF.rawValue
    #else
    private static let rusageSelf = RUSAGE_SELF
    #endif

    /// User + system CPU time of this process so far, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(rusageSelf, &usage) == 0 else { return 0 }
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return String(format: "%.2f", s)
    }
}

/// Bounds of the load generator (DESIGN.md: everything bounded).
enum BenchLimits {
    static let identitiesMax = 100_000
    static let ratePerSecondMax = 1_000_000.0
    static let durationMaxSeconds = 86_400.0
    /// PROTOCOL.md: POST /v1/txs takes 1 to 1,000 txs.
    static let txsPerPostMax = 1000
    static let concurrencyMax = 256
    static let nodesMax = 64
    /// About 250 bytes each: 2,000,000 pre-signed txs are about 500 MB.
    static let presignedTxsMax = 2_000_000
    /// The mempool's nonce window: nonces in `[next, next + 64)` are admitted.
    static let nonceWindow: UInt64 = 64
    /// The registrar registers identities in rounds of this many (its own nonce window).
    static let identitiesPerRound = 64
    /// Rejections of one tx retried before its identity is given up.
    static let retriesPerTxMax = 50
    /// A node that does not answer a POST: the pause before trying again doubles from the base to
    /// the cap, and after this many failures in a row the submitter moves to the next node.
    static let postBackoffBaseMs = 50
    static let postBackoffCapMs = 2_000
    static let postBackoffMaxDoublings = 6
    static let postFailuresBeforeMove = 4
    /// A tx in flight this long after its last submission is sent again.
    static let resubmitAfterNs: UInt64 = 15_000_000_000
    /// Longest commit latency the histogram tracks, in microseconds (larger values are clamped).
    static let latencyMaxUs: UInt64 = 600_000_000
    /// With a target rate, a POST waits for at least this share of a second's txs (steady load, few POSTs).
    static let pacingSliceSeconds = 0.01
}

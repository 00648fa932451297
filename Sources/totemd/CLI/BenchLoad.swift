import ChainModel
import Foundation
import Histogram
import Synchronization
import TotemCrypto

/// What a finished run measured.
struct BenchOutcome: Sendable {
    let counters: BenchCounters
    let latencyUs: Histogram<UInt64>
    let toProposalUs: Histogram<UInt64>
    let proposalToSeenUs: Histogram<UInt64>
    let durationSeconds: Double
    /// From the start of the timed phase to the end of the drain.
    let elapsedSeconds: Double
    let notCommitted: Int
    let followedURL: String
    /// CPU time the bench itself used in the timed phase and drain (it shares the cores with the nodes).
    var generatorCPUSeconds = 0.0
    /// Per node, what its /metrics say happened during the run.
    var nodeLines: [String] = []
}

/// The timed phase: submit workers (one or more per node), one block follower, a progress line
/// every few seconds, and a drain that waits for the txs still in flight.
final class BenchLoad: Sendable {
    private let plan: BenchPlan
    private let signer: BenchSigner
    private let state: Mutex<BenchState>
    private let stop = Atomic<Bool>(false)
    private let start = ContinuousClock.now
    /// Wall-clock time of `start`, to place block header times on the monotonic clock.
    private let startWallMs = UInt64(Date().timeIntervalSince1970 * 1000)

    init(plan: BenchPlan, keys: [SigningKey], chain: APIClient.ChainInfo, presigned: [[PresignedTx]]) {
        self.plan = plan
        self.signer = BenchSigner(keys: keys, chain: chain, plan: plan)
        self.state = Mutex(BenchState(plan: plan, presigned: presigned))
    }

    /// Nanoseconds since this object was made (just before the timed phase).
    private func nowNs() -> UInt64 {
        let c = (ContinuousClock.now - start).components
        return UInt64(max(0, c.seconds)) * 1_000_000_000 + UInt64(max(0, c.attoseconds) / 1_000_000_000)
    }

    func run(clients: [APIClient], concurrency: Int, followFrom height: UInt64, pollMs: Int,
             log: @escaping @Sendable (String) -> Void) async throws -> BenchOutcome {
        let drainSeconds = plan.drain
        let workers = max(concurrency, plan.groupCount)
        log("timed phase: \(plan.duration) s, \(workers) submitters over \(clients.count) node(s), following blocks from height \(height)")
        let drainEndNs = UInt64((plan.duration + drainSeconds) * 1e9)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follow(clients, from: height, pollMs: pollMs) }
            group.addTask { await self.progress(log: log) }
            await withDiscardingTaskGroup { submitters in
                for w in 0..<workers {
                    let g = w % plan.groupCount
                    submitters.addTask { await self.submit(group: g, clients: clients) }
                }
            }
            log("timed phase over; draining up to \(drainSeconds) s for txs in flight")
            while !state.withLock({ $0.drained(nowNs: nowNs()) }), nowNs() < drainEndNs {
                try? await Task.sleep(for: .milliseconds(10))
            }
            stop.store(true, ordering: .releasing)
        }
        let elapsed = Double(nowNs()) / 1e9
        return state.withLock { s in
            BenchOutcome(counters: s.counters, latencyUs: s.latencyUs, toProposalUs: s.toProposalUs,
                         proposalToSeenUs: s.proposalToSeenUs, durationSeconds: plan.duration,
                         elapsedSeconds: elapsed, notCommitted: s.inFlight.count, followedURL: clients[0].base)
        }
    }

    /// One submitter: take a batch, sign what was not pre-signed, POST it, record the answer.
    ///
    /// A node that does not answer is retried with a doubling pause (`BenchLimits.postBackoff…`);
    /// after `postFailuresBeforeMove` failures in a row the submitter moves to the next node, so a
    /// node restarted under load costs its identities a pause, not the run.
    private func submit(group g: Int, clients: [APIClient]) async {
        var current = g % clients.count
        var failuresInARow = 0
        while !stop.load(ordering: .acquiring) {
            let client = clients[current]
            let take = state.withLock { $0.take(group: g, nowNs: nowNs()) }
            var items: [BenchState.Outgoing]
            switch take {
            case .done: return
            case .wait(let ns):
                try? await Task.sleep(nanoseconds: ns)
                continue
            case .send(let batch): items = batch
            }
            var signedNow = 0
            for i in items.indices where items[i].tx == nil {
                items[i].tx = signer.make(group: g, seq: items[i].seq)
                signedNow += 1
            }
            let body = Self.body(items)
            state.withLock {
                $0.counters.signedDuringRun += signedNow
                $0.sending(items, nowNs: nowNs())
            }
            var results: [APIClient.SubmitResult]?
            var failure: String?
            do {
                results = Self.parseResults(try await client.request("POST", "/v1/txs", body: body))
                if results == nil { failure = "answer without results" }
            } catch {
                failure = "\(error)"
            }
            let answered = results, why = failure
            state.withLock {
                $0.answered(group: g, items, results: answered, nowNs: nowNs())
                if let why { $0.counters.lastPostError = String(why.prefix(300)) }
            }
            guard answered == nil else {
                failuresInARow = 0
                continue
            }
            failuresInARow += 1
            let pauseMs = min(BenchLimits.postBackoffCapMs,
                              BenchLimits.postBackoffBaseMs << min(failuresInARow - 1, BenchLimits.postBackoffMaxDoublings))
            if failuresInARow % BenchLimits.postFailuresBeforeMove == 0, clients.count > 1 {
                current = (current + 1) % clients.count
                state.withLock { $0.counters.nodeMoves += 1 }
            }
            try? await Task.sleep(for: .milliseconds(pauseMs))
        }
    }

    /// Follows committed blocks on one node, one height after the other, and matches their tx hashes.
    private func follow(_ clients: [APIClient], from first: UInt64, pollMs: Int) async {
        var height = first
        var current = 0
        var failuresInARow = 0
        while !stop.load(ordering: .acquiring) {
            let client = clients[current]
            do {
                // The node answers as soon as the block is committed (or 404 after the wait).
                let block = try await client.get("/v1/blocks/\(height)?waitMs=\(Self.blockWaitMs)")
                let seenNs = nowNs()
                var hashes: [Bytes32] = []
                if case .array(let list)? = block["txHashes"] {
                    hashes.reserveCapacity(list.count)
                    for case .string(let h) in list { if let b = Bytes32(hex: h) { hashes.append(b) } }
                }
                let proposedNs = Self.headerTimeMs(block).flatMap { ms in
                    ms >= startWallMs ? (ms - startWallMs) * 1_000_000 : nil
                }
                state.withLock { $0.committed(hashes, nowNs: seenNs, proposedNs: proposedNs) }
                height += 1
                failuresInARow = 0
            } catch let f as APIClient.Failure where f.status == 404 {
                try? await Task.sleep(for: .milliseconds(pollMs))  // a node without waitMs answers at once
            } catch {
                state.withLock {
                    $0.counters.blockPollErrors += 1
                    $0.counters.lastPollError = String("\(error)".prefix(300))
                }
                failuresInARow += 1
                if failuresInARow % BenchLimits.postFailuresBeforeMove == 0 { current = (current + 1) % clients.count }
                try? await Task.sleep(for: .milliseconds(min(BenchLimits.postBackoffCapMs,
                                                               BenchLimits.postBackoffBaseMs << min(failuresInARow - 1, BenchLimits.postBackoffMaxDoublings))))
            }
        }
    }

    private func progress(log: @Sendable (String) -> Void) async {
        var last = 0
        while !stop.load(ordering: .acquiring) {
            for _ in 0..<50 where !stop.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(100)) }
            if stop.load(ordering: .acquiring) { return }
            let now = nowNs()
            let (c, inFlight) = state.withLock { s in
                s.resubmitForgotten(nowNs: now)
                return (s.counters, s.inFlight.count)
            }
            log(String(format: "t=%.0fs sent %d accepted %d rejected %d committed %d (+%d in 5 s) in flight %d blocks %d",
                       Double(nowNs()) / 1e9, c.sent, c.accepted, c.rejected, c.committed, c.committed - last, inFlight, c.blocks))
            last = c.committed
        }
    }

    /// How long one block request may wait at the node for the block to be committed.
    static let blockWaitMs = 1000

    /// The `timestampMs` of a block answer's base64 header; nil if absent or undecodable.
    static func headerTimeMs(_ block: JSONValue) -> UInt64? {
        guard case .string(let b64)? = block["header"], let bytes = Base64.decode(b64),
              let header = try? Header.decode(bytes) else { return nil }
        return header.timestampMs
    }

    /// `{"txs":["<hex>",…]}` written directly: the hex of every tx is the bulk of the bytes.
    static func body(_ items: [BenchState.Outgoing]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(16 + items.reduce(0) { $0 + 2 * ($1.tx?.bytes.count ?? 0) + 3 })
        out.append(contentsOf: Array(#"{"txs":[""#.utf8))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(contentsOf: [0x22, 0x2C, 0x22]) }  // ","
            for b in item.tx?.bytes ?? [] {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 0x0F)])
            }
        }
        out.append(contentsOf: Array(#""]}"#.utf8))
        return out
    }

    static func parseResults(_ answer: JSONValue) -> [APIClient.SubmitResult]? {
        guard case .array(let results)? = answer["results"] else { return nil }
        return results.map { r in
            var hash = "", code: String?, message: String?
            if case .string(let h)? = r["txHash"] { hash = h }
            if case .string(let c)? = r["error"]?["code"] { code = c }
            if case .string(let m)? = r["error"]?["message"] { message = m }
            let accepted: Bool = if case .bool(let a)? = r["accepted"] { a } else { false }
            return APIClient.SubmitResult(txHash: hash, accepted: accepted, errorCode: code, errorMessage: message)
        }
    }
}

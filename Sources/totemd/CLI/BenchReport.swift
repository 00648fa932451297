import Foundation
import Histogram

/// The exact conditions of a run, printed with its figures so a number never travels without them.
struct BenchConditions: Sendable {
    let urls: [String]
    let identities: Int
    let rate: Double
    let duration: Double
    let batch: Int
    let concurrency: Int
    let pollMs: Int
    let imageCode: Bool
    let worksPerTx: Int
    let presigned: Int
}

struct BenchReport {
    let conditions: BenchConditions
    let outcome: BenchOutcome

    func print() {
        let c = outcome.counters, k = conditions
        let rate = k.rate > 0 ? String(format: "%.0f tx/s", k.rate) : "0 (as fast as accepted)"
        var lines: [String] = [
            "totemd bench",
            "conditions",
            "  nodes         \(k.urls.joined(separator: " ")) (identity i submits to node i mod \(k.urls.count); blocks followed on \(outcome.followedURL), every \(k.pollMs) ms when idle)",
            "  load          \(k.worksPerTx == 1 ? "single-signature RegisterWork" : "RegisterWorkBatch of \(k.worksPerTx) works")\(k.imageCode ? " with image code" : ""), \(k.identities) identities, rate \(rate), duration \(fmt(k.duration)) s",
            "  submission    batch \(k.batch) txs per POST, concurrency \(k.concurrency), nonce window \(BenchLimits.nonceWindow) per identity",
            "  signing       \(k.presigned) pre-signed, \(c.signedDuringRun) signed during the run",
            "  host          \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.hostName)",
            "results",
            "  committed     \(String(format: "%.0f", Double(c.committedInWindow) / k.duration)) tx/s  (\(c.committedInWindow) txs committed within the \(fmt(k.duration)) s)",
            "  works         \(String(format: "%.0f", Double(c.committedInWindow * k.worksPerTx) / k.duration)) works/s committed  (\(k.worksPerTx) per tx)",
            "  submitted     \(c.sent) txs (\(String(format: "%.0f", Double(c.sent) / k.duration)) tx/s offered) in \(c.posts) POSTs, \(c.retriesSent) resent",
            "  accepted      \(c.accepted)",
            "  rejected      \(c.rejected)\(rejections(c))",
            "  failed        \(c.failed) txs given up, \(c.deadIdentities) identities stopped, \(c.postFailures) POSTs failed, \(c.nodeMoves) moves to another node, \(c.resubmitted) txs resubmitted",
            "  total         \(c.committed) committed by the end of the drain (\(fmt(outcome.elapsedSeconds)) s after the start), \(outcome.notCommitted) never seen committed",
            "  blocks        \(c.blocks) (\(c.blocksInWindow) within the timed phase), \(c.blocks > 0 ? c.txsInBlocks / c.blocks : 0) txs per block on average",
        ]
        lines.append(String(format: "  generator     %.1f s of CPU (%.0f%% of one core over %.1f s), load average at the end %@",
                            outcome.generatorCPUSeconds, 100 * outcome.generatorCPUSeconds / max(outcome.elapsedSeconds, 0.001),
                            outcome.elapsedSeconds, loadAverage()))
        let h = outcome.latencyUs
        if h.totalCount > 0 {
            lines.append("  latency (ms)  submit to seen in a committed block, \(h.totalCount) txs:")
            lines.append(percentiles(h, ""))
            if outcome.toProposalUs.totalCount > 0 {
                lines.append("                split at the block header's time (when the leader built the proposal):")
                lines.append(percentiles(outcome.toProposalUs, "submit to proposed    "))
                lines.append(percentiles(outcome.proposalToSeenUs, "proposed to seen      "))
            }
        } else {
            lines.append("  latency       no bench tx was seen committed")
        }
        if !outcome.nodeLines.isEmpty {
            lines.append("  nodes (/metrics deltas over the run, means):")
            for l in outcome.nodeLines { lines.append("                \(l)") }
        }
        if c.windowFullWaits > 0 || c.maxBacklogTxs > k.batch * 2 {
            lines.append("  notes         the generator waited \(c.windowFullWaits) times on full nonce windows; largest backlog behind the target rate \(c.maxBacklogTxs) txs")
        }
        if c.blockPollErrors > 0 {
            lines.append("  notes         \(c.blockPollErrors) block polls failed (not 404), the last: \(c.lastPollError ?? "?")")
        }
        if let e = c.lastPostError { lines.append("  notes         the last failed POST: \(e)") }
        Swift.print(lines.joined(separator: "\n"))
    }

    /// The 1, 5 and 15 minute load averages: a busy machine makes every figure worse, so say so.
    private func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    private func percentiles(_ h: Histogram<UInt64>, _ label: String) -> String {
        String(format: "                %@p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  mean %.1f", label,
               ms(h.valueAtPercentile(50)), ms(h.valueAtPercentile(90)), ms(h.valueAtPercentile(99)), ms(h.max), h.mean / 1000)
    }

    private func ms(_ us: UInt64) -> Double { Double(us) / 1000 }
    private func fmt(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%.2f", x) }

    private func rejections(_ c: BenchCounters) -> String {
        guard !c.rejectedByCode.isEmpty else { return "" }
        return " (" + c.rejectedByCode.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
    }
}

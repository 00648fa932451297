import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Storage

/// A few of each node's Prometheus counters, read before and after the timed phase, so the report
/// shows where the nodes' time went (LMDB commits, signing-state syncs, view changes).
struct BenchNodeMetrics: Sendable {
    /// The series read; anything else in /metrics is ignored.
    static let names = Set([
        "totem_block_commit_seconds_sum", "totem_block_commit_seconds_count",
        "totem_signing_state_persist_seconds_sum", "totem_signing_state_persist_seconds_count",
        "totem_view_changes_total", "totem_txs_rejected_total", "totem_mempool_txs", "totem_height",
    ] + DiskSyncs.Kind.allCases.map(syncSeries))

    /// The series of `totem_disk_syncs_total` for one kind, as /metrics names it.
    static func syncSeries(_ kind: DiskSyncs.Kind) -> String { "totem_disk_syncs_total{kind=\"\(kind.label)\"}" }
    /// /metrics bodies larger than this are not read.
    static let maxBodyBytes = 4 << 20

    let values: [String: Double]

    /// Reads the node's /metrics; nil when it does not answer (the report then leaves it out).
    static func scrape(_ client: APIClient) async -> BenchNodeMetrics? {
        guard let url = URL(string: client.base + "/metrics"),
              let (data, response) = try? await client.session.data(from: url),
              (response as? HTTPURLResponse)?.statusCode == 200, data.count <= maxBodyBytes else { return nil }
        var values: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, names.contains(String(parts[0])), let v = Double(parts[1]) else { continue }
            values[String(parts[0])] = v
        }
        return BenchNodeMetrics(values: values)
    }

    /// One report line of what changed between `before` and `after`.
    static func describe(before: BenchNodeMetrics?, after: BenchNodeMetrics?) -> String {
        guard let before, let after else { return "no /metrics" }
        func delta(_ name: String) -> Double? {
            guard let a = after.values[name], let b = before.values[name] else { return nil }
            return a - b
        }
        func mean(_ base: String) -> String {
            guard let sum = delta(base + "_sum"), let count = delta(base + "_count"), count > 0 else { return "-" }
            return String(format: "%.1f ms x %.0f", 1000 * sum / count, count)
        }
        var parts = ["block commit \(mean("totem_block_commit_seconds"))",
                     "signing-state sync \(mean("totem_signing_state_persist_seconds"))"]
        if let v = delta("totem_view_changes_total") { parts.append(String(format: "view changes %.0f", v)) }
        let syncs = DiskSyncs.Kind.allCases.compactMap { delta(syncSeries($0)) }
        if let heights = delta("totem_height"), heights > 0, !syncs.isEmpty {
            parts.append(String(format: "disk syncs %.1f per height", syncs.reduce(0, +) / heights))
        }
        if let r = delta("totem_txs_rejected_total") { parts.append(String(format: "rejected %.0f", r)) }
        return parts.joined(separator: ", ")
    }
}

import ChainModel
import Storage

/// Measures the LMDB layer, for the microbenchmark executable.
public enum StoreBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable, CustomStringConvertible {
        /// Committed write transactions.
        public let transactions: Int
        /// Puts in each transaction.
        public let putsPerTransaction: Int
        /// Wall-clock time of all commits.
        public let seconds: Double
        /// Durable commits per second.
        public var commitsPerSecond: Double { Double(transactions) / seconds }
        /// Puts per second, counting only durably committed ones.
        public var putsPerSecond: Double { Double(transactions * putsPerTransaction) / seconds }

        public var description: String {
            let commits = Int(commitsPerSecond.rounded())
            let puts = Int(putsPerSecond.rounded())
            return "LMDB synced commits of \(putsPerTransaction) puts: \(commits) commits/s, \(puts) puts/s"
                + " (\(transactions) commits in \(String(format3(seconds))) s)"
        }

        private func format3(_ value: Double) -> String {
            let milli = Int((value * 1000).rounded())
            let fraction = String(milli % 1000)
            return "\(milli / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        }
    }

    /// Commits `transactions` durable write transactions of `putsPerTransaction` puts each
    /// (8-byte big-endian keys in increasing order, `valueBytes`-byte values) through a
    /// `StoreWriter` into a fresh environment in `directory`, and reports the rate.
    public static func syncedCommits(directory: String, transactions: Int = 1_000,
                                     putsPerTransaction: Int = 1_000, valueBytes: Int = 100) async throws -> Result {
        precondition(transactions > 0 && putsPerTransaction > 0 && valueBytes >= 0, "benchmark sizes must be positive")
        let environment = try LMDBEnvironment(directory: directory, databases: ["bench"])
        let db = try environment.database("bench")
        let writer = StoreWriter(environment: environment)
        var random = SplitMix64(seed: 1)
        let value = random.bytes(valueBytes)
        let clock = ContinuousClock()
        let start = clock.now
        for t in 0..<transactions {
            let first = UInt64(t * putsPerTransaction)
            try await writer.write { txn in
                for k in first..<first + UInt64(putsPerTransaction) {
                    try txn.put(db, key: StoreKey.u64(k), value: value)
                }
            }
        }
        let elapsed = clock.now - start
        await writer.shutdown()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(transactions: transactions, putsPerTransaction: putsPerTransaction, seconds: seconds)
    }
}

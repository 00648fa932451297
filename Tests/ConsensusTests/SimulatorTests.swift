import Chain
import Foundation
import Testing
@testable import Consensus

/// The seeded cluster simulator (STYLE.md §3). Replay one seed with its trace:
///   TOTEM_SIM_SEED=1234 swift test --filter ConsensusTests.SimulatorTests
/// Run more seeds: TOTEM_SIM_SEEDS=20000 (default 2000).
@Suite struct SimulatorTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seedCount = environment["TOTEM_SIM_SEEDS"].flatMap { Int($0) } ?? 2_000
    static let replaySeed = environment["TOTEM_SIM_SEED"].flatMap { UInt64($0) }
    static let chunks = 16

    /// Runs `seed`; on a violation re-runs it with tracing and returns a readable report.
    static func check(seed: UInt64, options: SimOptions) -> String? {
        var sim = Simulator(seed: seed, options: options)
        let result = sim.run()
        guard let violation = result.violation else { return nil }
        var traced = Simulator(seed: seed, options: options, tracing: true)
        let replay = traced.run()
        return """
            seed \(seed) (\(options)): \(violation)
            replay: TOTEM_SIM_SEED=\(seed) swift test --filter ConsensusTests.SimulatorTests
            last trace lines:
            \(replay.trace.suffix(120).joined(separator: "\n"))
            """
    }

    @Test(arguments: 0..<chunks)
    func seeds(chunk: Int) {
        if let seed = Self.replaySeed {
            guard chunk == 0 else { return }
            var sim = Simulator(seed: seed, options: SimOptions.random(seed: seed), tracing: true)
            let result = sim.run()
            print("seed \(seed) (\(result.options)): heights \(result.heightAllHonest), messages \(result.messages)")
            print(result.trace.joined(separator: "\n"))
            #expect(result.violation == nil, "\(result.violation ?? "")")
            return
        }
        let perChunk = (Self.seedCount + Self.chunks - 1) / Self.chunks
        var failures = [String]()
        var heights = 0
        for k in 0..<perChunk {
            let seed = UInt64(chunk * perChunk + k + 1)
            if let report = Self.check(seed: seed, options: SimOptions.random(seed: seed)) {
                failures.append(report)
                break
            }
            heights += 1
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
        #expect(heights == perChunk)
    }
}

import Foundation
import Testing
@testable import Consensus

/// The seeded cluster simulator (STYLE.md §3). Replay one seed with its trace:
///   TOTEM_SIM_SEED=1234 swift test --filter ConsensusTests.SimulatorTests
/// Run more seeds: TOTEM_SIM_SEEDS=20000 (default 2000), from TOTEM_SIM_FIRST_SEED (default 1), or
/// scripts/simulate.sh.
@Suite struct SimulatorTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seedCount = environment["TOTEM_SIM_SEEDS"].flatMap { Int($0) } ?? 2_000
    static let replaySeed = environment["TOTEM_SIM_SEED"].flatMap { UInt64($0) }
    /// Seeds run are `firstSeed ..< firstSeed + seedCount`, so other ranges can be explored.
    static let firstSeed = environment["TOTEM_SIM_FIRST_SEED"].flatMap { Int($0) } ?? 1
    /// TOTEM_SIM_HARSH=1: fault phases up to 12 s and drop rates up to 45% (for exploring).
    static let harsh = environment["TOTEM_SIM_HARSH"] == "1"
    /// TOTEM_SIM_BUG=weakQuorum|forgetLock|noViewTimerRule: replay a seed of the broken-replica tests.
    #if TOTEM_FAULT_INJECTION
    static let bug: InjectedBug = switch environment["TOTEM_SIM_BUG"] {
    case "weakQuorum": .weakQuorum
    case "forgetLock": .forgetLock
    case "noViewTimerRule": .noViewTimerRule
    default: .none
    }
    #endif
    /// TOTEM_SIM_NODE_BUG=sendsBeforePersist|ignoresDamagedSlot|skipsDriftCheck: replay a seed of the node-bug tests.
    static let nodeBug = environment["TOTEM_SIM_NODE_BUG"].flatMap { NodeFaults.NodeBug(rawValue: $0) }
    static func options(_ seed: UInt64) -> SimOptions {
        if let nodeBug { return SimOptions.nodeBugMix(seed: seed, bug: nodeBug) }
        #if TOTEM_FAULT_INJECTION
        // The broken-replica tests run the mix without node faults.
        var o = SimOptions.random(seed: seed, harsh: harsh, nodeFaults: bug == .none)
        o.bug = bug
        return o
        #else
        return SimOptions.random(seed: seed, harsh: harsh)
        #endif
    }
    static let chunks = 16
    /// TOTEM_SIM_PRINT_SEEDS=1: print one line per seed (heights, messages, simulated time, what it
    /// exercised), to compare two builds seed by seed.
    static let printSeeds = environment["TOTEM_SIM_PRINT_SEEDS"] == "1"

    /// Runs `seed`; on a violation re-runs it with tracing and returns a readable report.
    static func check(seed: UInt64, options: SimOptions) -> (String?, SimResult) {
        var sim = Simulator(seed: seed, options: options)
        let result = sim.run()
        guard let violation = result.violation else { return (nil, result) }
        var traced = Simulator(seed: seed, options: options, tracing: true)
        let replay = traced.run()
        return ("""
            seed \(seed) (\(options)): \(violation)
            replay: \(harsh ? "TOTEM_SIM_HARSH=1 " : "")TOTEM_SIM_SEED=\(seed) swift test --filter ConsensusTests.SimulatorTests
            last trace lines:
            \(replay.trace.suffix(120).joined(separator: "\n"))
            """, result)
    }

    @Test(arguments: 0..<chunks)
    func seeds(chunk: Int) {
        if let seed = Self.replaySeed {
            guard chunk == 0 else { return }
            var sim = Simulator(seed: seed, options: Self.options(seed), tracing: true, traceLinesMax: .max)
            let result = sim.run()
            print("seed \(seed) (\(result.options)): heights \(result.heightAllHonest), messages \(result.messages)")
            print(result.trace.joined(separator: "\n"))
            #expect(result.violation == nil, "\(result.violation ?? "")")
            return
        }
        let perChunk = (Self.seedCount + Self.chunks - 1) / Self.chunks
        var failures = [String]()
        var passed = 0
        var heights = 0
        var stats = SimStats()
        var withNodeFaults = 0
        for k in 0..<perChunk {
            let seed = UInt64(Self.firstSeed + chunk * perChunk + k)
            let (report, result) = Self.check(seed: seed, options: Self.options(seed))
            if let report {
                failures.append(report)
                break
            }
            passed += 1
            heights += result.heightAllHonest
            if result.options.faults.isOn { withNodeFaults += 1 }
            if Self.printSeeds {
                print("seed \(seed): heights \(result.heightAllHonest), messages \(result.messages), "
                      + "simulated \(result.simulatedMs)ms, \(result.stats.summary)")
            }
            stats = stats + result.stats
        }
        print("chunk \(chunk): \(passed) seeds (\(withNodeFaults) with node faults), \(heights) heights decided, \(stats.summary)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
        #expect(passed == perChunk)
        #expect(heights > passed, "seeds decide blocks")
    }
}

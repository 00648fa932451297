import Foundation
import Testing
@testable import Benchmarks
@testable import ChainModel
@testable import Storage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash safety of block commits: a child process commits blocks as fast as it can and is killed
/// with SIGKILL at random moments; after each kill the store must hold exactly blocks 1...h for
/// some h (never part of a block), h must include every block the child reported committed (a
/// returned commit is durable), and the child must resume from h.
///
/// Knobs: `TOTEM_CRASH_CYCLES` (kill/reopen cycles, default 30), `TOTEM_CRASH_SEED` (replays a
/// run; printed on failure), `TOTEM_CRASH_MAX_DELAY_MS` (longest run before a kill, default 150).
@Suite(.serialized) struct StoreCrashTests {
    static let childName = "totem-store-crash-child"
    static let defaultCycles = 30
    static let defaultMaxDelayMs: UInt64 = 150
    /// Without `TOTEM_CRASH_CYCLES`, the kill cycles stop after this long once `minimumCycles` are
    /// done: a fast child on a fast disk can commit tens of thousands of blocks, and every cycle
    /// replays and digests the whole store (a debug build took 615 s for one such run).
    static let timeBudget: Duration = .seconds(120)
    static let minimumCycles = 10
    static let openTimeoutMs = 20_000
    static let transactionsPerBlock = 40
    /// The child never reaches this on its own during kill cycles; it runs until killed.
    static let unboundedTarget: UInt64 = 1 << 40
    /// Blocks the final, unkilled run adds to show the child resumes from the recovered height.
    static let resumeBlocks: UInt64 = 25

    @Test(arguments: StoreWorkload.allCases)
    func killedCommitsLeaveWholeBlocksOnly(workload: StoreWorkload) async throws {
        let environment = ProcessInfo.processInfo.environment
        let forcedCycles = environment["TOTEM_CRASH_CYCLES"].flatMap { Int($0) }
        let cycles = forcedCycles ?? Self.defaultCycles
        let started = ContinuousClock.now
        let maxDelayMs = environment["TOTEM_CRASH_MAX_DELAY_MS"].flatMap { UInt64($0) } ?? Self.defaultMaxDelayMs
        let seed = environment["TOTEM_CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        guard let child = Self.childExecutable() else {
            Issue.record("\(Self.childName) not found next to the test binary: run `swift build --build-tests` first")
            return
        }
        let dir = try TemporaryDirectory("crash")
        let storePath = dir.sub("store"), reportPath = dir.sub("report")
        let reference = try Reference(workload, directory: dir.sub("reference"))
        var random = SplitMix64(seed: seed)
        var verified: UInt64 = 0
        var committedInCycles = 0, inFlightCommits = 0, cyclesDone = 0
        let context = "\(workload) workload, seed \(seed) (TOTEM_CRASH_SEED=\(seed) replays the kill schedule)"

        for cycle in 0..<cycles {
            if forcedCycles == nil, cyclesDone >= Self.minimumCycles, ContinuousClock.now - started > Self.timeBudget { break }
            try? FileManager.default.removeItem(atPath: reportPath)
            let process = try Self.spawn(child, storePath, reportPath, target: Self.unboundedTarget, workload)
            // One cycle in eight kills without waiting for the store to open.
            let killEarly = random.next() % 8 == 0
            if !killEarly, try await !Self.waitForOpen(reportPath, process) {
                Issue.record("cycle \(cycle): child did not open the store; \(context)")
                break
            }
            try await Task.sleep(for: .milliseconds(Int(random.next() % (maxDelayMs + 1))))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let report = Self.readReport(reportPath)
            let reported = max(report.lastCommitted ?? 0, report.openHeight ?? verified)
            if let open = report.openHeight, open != verified {
                Issue.record("cycle \(cycle): child opened at height \(open), last verified \(verified); \(context)")
            }
            let height = try Self.committedHeight(workload, storePath)
            guard height >= reported, height <= reported + 1 else {
                Issue.record("cycle \(cycle): store at height \(height) but the child reported \(reported) committed; \(context)")
                break
            }
            try reference.advance(to: height)
            let stored = try Self.digest(workload, storePath), expected = try reference.digest()
            guard stored == expected else {
                Issue.record("cycle \(cycle): store at height \(height) differs from a replay of blocks 1...\(height); \(context)")
                break
            }
            committedInCycles += report.committedCount
            if height == reported + 1 { inFlightCommits += 1 }
            verified = height
            cyclesDone += 1
        }
        #expect(committedInCycles > 0, "the kills must land while blocks are being committed")

        // The child resumes from the recovered height and runs to completion.
        let target = verified + Self.resumeBlocks
        let process = try Self.spawn(child, storePath, reportPath, target: target, workload)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(try Self.committedHeight(workload, storePath) == target)
        try reference.advance(to: target)
        #expect(try Self.digest(workload, storePath) == reference.digest(), "resumed store equals a replay; \(context)")
        #expect(cyclesDone == cycles || (forcedCycles == nil && cyclesDone >= Self.minimumCycles),
                "every kill/reopen cycle verified")
        print("store crash test: \(cyclesDone) kills, \(committedInCycles) blocks committed between kills, "
              + "\(inFlightCommits) kills after a commit and before its report, final height \(target); \(context)")
    }

    // MARK: The reference replay

    /// A second store, in the test process, advanced by replaying the same blocks.
    final class Reference {
        let store: StoreWorkload.Opened

        init(_ workload: StoreWorkload, directory: String) throws {
            store = try workload.open(directory: directory, transactionsPerBlock: StoreCrashTests.transactionsPerBlock)
        }

        func advance(to height: UInt64) throws {
            try store.environment.write { txn in
                _ = try StoreBlockReplay.apply(store.source, upTo: height, into: txn, meta: store.meta)
            }
        }

        func digest() throws -> String { try StoreCrashTests.digest(store.environment) }
    }

    // MARK: Helpers

    static func committedHeight(_ workload: StoreWorkload, _ path: String) throws -> UInt64 {
        let store = try workload.open(directory: path, transactionsPerBlock: transactionsPerBlock)
        return try store.environment.read { try StoreBlockReplay.committedHeight($0, meta: store.meta) }
    }

    static func digest(_ workload: StoreWorkload, _ path: String) throws -> String {
        try digest(workload.open(directory: path, transactionsPerBlock: transactionsPerBlock).environment)
    }

    /// Digest of every database of the environment.
    static func digest(_ environment: LMDBEnvironment) throws -> String {
        try environment.read { try $0.digest(environment.databases) }.hex
    }

    static func spawn(_ child: String, _ store: String, _ report: String, target: UInt64,
                      _ workload: StoreWorkload) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: child)
        process.arguments = [store, report, String(target), String(transactionsPerBlock), workload.rawValue]
        try process.run()
        return process
    }

    /// Waits until the child wrote its "open" line; false if it exited or timed out first.
    static func waitForOpen(_ reportPath: String, _ process: Process) async throws -> Bool {
        for _ in 0..<openTimeoutMs {
            if readReport(reportPath).openHeight != nil { return true }
            if !process.isRunning { return false }
            try await Task.sleep(for: .milliseconds(1))
        }
        return false
    }

    struct Report {
        var openHeight: UInt64?
        var lastCommitted: UInt64?
        var committedCount = 0
    }

    /// Parses the child's report; a torn last line (killed mid-write) is ignored.
    static func readReport(_ path: String) -> Report {
        var report = Report()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return report }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("open "), let h = UInt64(line.dropFirst(5)) {
                report.openHeight = h
            } else if let h = UInt64(line) {
                report.lastCommitted = h
                report.committedCount += 1
            }
        }
        return report
    }

    /// The child binary: in the build directory next to the test binary (or named by
    /// `TOTEM_STORE_CRASH_CHILD`).
    static func childExecutable() -> String? {
        if let explicit = ProcessInfo.processInfo.environment["TOTEM_STORE_CRASH_CHILD"] { return explicit }
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: selfPath).deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(childName).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }
}

import Foundation
import Testing
@testable import Benchmarks
@testable import ChainModel
@testable import Consensus
@testable import Storage
import TotemCrypto
#if os(Linux)
// The shim needs Linux: LD_PRELOAD interposition of glibc's calls, /proc/self/fd, fdatasync.
import Glibc

/// Power cuts: a kill -9 keeps the page cache, a power cut does not.
///
/// The crash child runs in its `node` mode (the store, the signing-state file and the
/// decided-block log in the node's order, NodeOrder.swift) with an LD_PRELOAD shim
/// (PowerCut/powercut_journal.c, compiled here with the system C compiler) that journals every
/// write, truncation, sync, creation, rename and mkdir under its data directory's parent, and its
/// report lines (the votes it sent, the blocks it reported committed) in the same order. Each cut
/// point is a prefix of that journal; `PowerCutDisk` turns it into what a power cut there could
/// leave (synced data, plus a seeded choice of what was written but not synced, torn at sectors;
/// names not made durable by a directory fsync may be missing). The image is then opened with the
/// real code, as a starting node does, and must keep every promise made before the cut:
///
/// - it opens (and passes the start-up check), and the logged blocks above the tip are stored;
/// - every block reported committed is there, with its certificate, and the store equals a replay
///   of blocks 1...tip (whole blocks only);
/// - the signing state taken back refuses to sign anything that contradicts a vote reported sent,
///   and is not ahead of the blocks (the node would refuse to start).
///
/// A second child run starts from one cut's image (recovering as the node does) and is cut again.
/// Knobs: `TOTEM_POWERCUT_SEED` (replays a run), `TOTEM_POWERCUT_CUTS` (cut points per child run,
/// default 130), `TOTEM_POWERCUT_HEIGHTS` (blocks the first run commits, default 30).
@Suite(.serialized) struct PowerCutTests {
    static let defaultCutsPerRun = 130
    static let defaultHeights: UInt64 = 30
    /// Blocks the second run adds.
    static let secondRunHeights: UInt64 = 15
    static let transactionsPerBlock = 4
    /// The first journal records of each run are all cut points (the files are created, or logged
    /// blocks stored, there).
    static let startCuts = 40

    @Test func powerCutsKeepEveryPromise() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["TOTEM_POWERCUT_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        let cutsPerRun = environment["TOTEM_POWERCUT_CUTS"].flatMap { Int($0) } ?? Self.defaultCutsPerRun
        let heights = environment["TOTEM_POWERCUT_HEIGHTS"].flatMap { UInt64($0) } ?? Self.defaultHeights
        let context = "seed \(seed) (TOTEM_POWERCUT_SEED=\(seed) replays the cuts)"
        guard let child = StoreCrashTests.childExecutable() else {
            Issue.record("\(StoreCrashTests.childName) not found next to the test binary: run `swift build --build-tests` first")
            return
        }
        let work = try TemporaryDirectory("powercut")
        let shim = try Self.compileShim(into: work.sub("powercut_journal.so"))
        // The images are checked in memory-backed files where there are any: checking them syncs
        // (opening a store does), and their durability does not matter.
        let shm = "/dev/shm"
        let scratch = try TemporaryDirectory("powercut-images", under: FileManager.default.isWritableFile(atPath: shm) ? shm : nil)
        let reference = try Reference(directory: work.sub("reference"), heights: heights + Self.secondRunHeights)
        var random = SplitMix64(seed: seed)
        var stats = Stats()

        // Run 1: a node starting on an empty disk.
        let first = try Self.runChild(child, shim: shim, base: [:], root: work.sub("run1"), target: heights)
        try Self.checkJournal(first, stats: &stats, context: context)
        let base = try await Self.checkCuts(of: first, basePromises: Promises(), count: cutsPerRun, reference: reference,
                                            scratch: scratch.sub("cuts1"), random: &random, stats: &stats, context: context)
        // Run 2: a node starting again from one of those images, cut again.
        let second = try Self.runChild(child, shim: shim, base: base.image, root: work.sub("run2"),
                                       target: heights + Self.secondRunHeights)
        try Self.checkJournal(second, stats: &stats, context: context)
        _ = try await Self.checkCuts(of: second, basePromises: base.promises, count: cutsPerRun, reference: reference,
                                     scratch: scratch.sub("cuts2"), random: &random, stats: &stats, context: context)

        #expect(stats.cuts >= 2 * (cutsPerRun + Self.startCuts), "every planned cut was checked")
        #expect(stats.recoveredFromLog > 0, "some cuts left a reported block in the log only, and it was recovered")
        #expect(stats.promisedVotes > 0 && stats.promisedCommits > 0, "cuts landed after promises")
        let byCut = stats.byCut.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("power-cut test: \(stats.cuts) cuts (\(byCut)), \(stats.promisedVotes) reported votes and \(stats.promisedCommits) "
              + "reported commits checked over them, \(stats.recoveredFromLog) recovered a logged block, "
              + "\(stats.slotDamage) found a torn slot; \(context)")
    }

    // MARK: Cut points

    struct Stats {
        var cuts = 0
        var byCut: [String: Int] = [:]
        var promisedVotes = 0
        var promisedCommits = 0
        var recoveredFromLog = 0
        var slotDamage = 0
    }

    /// Checks `count` cut points of a run (plus planned ones: nothing, everything, and right after
    /// the first reported commits with only synced data); returns one checked image with the
    /// promises made before it, to start the next run from.
    static func checkCuts(of run: ChildRun, basePromises: Promises, count: Int, reference: Reference, scratch: String,
                          random: inout SplitMix64, stats: inout Stats, context: String) async throws
        -> (image: [String: [UInt8]?], promises: Promises) {
        let notes = run.ops.indices.filter { if case .note = run.ops[$0] { return true } else { return false } }
        let commitNotes = notes.filter { if case .note(let text) = run.ops[$0] { return text.hasPrefix("committed") } else { return false } }
        var cuts: [(at: Int, cut: PowerCutDisk.Cut)] = [(0, .random), (run.ops.count, .everything), (run.ops.count, .syncedOnly)]
        cuts += commitNotes.prefix(3).map { ($0 + 1, .syncedOnly) }
        // Every point of the start (creating the files, or storing logged blocks), torn at random.
        cuts += (1..<min(startCuts, run.ops.count)).map { ($0, .random) }
        let planned = cuts.count
        while cuts.count < planned + count {
            // Half right after a report (every promise made, nothing more synced), half anywhere.
            let at = random.next() % 2 == 0 && !notes.isEmpty ? notes[Int(random.next() % UInt64(notes.count))] + 1
                                                               : Int(random.next() % UInt64(run.ops.count + 1))
            let kinds: [PowerCutDisk.Cut] = [.syncedOnly, .everything, .random, .random]
            cuts.append((at, kinds[Int(random.next() % 4)]))
        }
        cuts.sort { $0.at < $1.at }
        let nextBase = Int(random.next() % UInt64(cuts.count))
        var picked: (image: [String: [UInt8]?], promises: Promises)?

        var disk = run.base
        var promises = basePromises
        var applied = 0
        for (index, cut) in cuts.enumerated() {
            while applied < cut.at {
                let op = run.ops[applied]
                disk.apply(op)
                if case .note(let text) = op { promises.add(text) }
                applied += 1
            }
            var imageRandom = SplitMix64(seed: random.next())
            let image = disk.image(cut.cut, random: &imageRandom)
            let directory = scratch + "/\(index)"
            try write(image, to: directory)
            let what = "cut at journal record \(cut.at) of \(run.ops.count) (\(cut.cut)), \(promises.summary); \(context)"
            let outcome = await check(directory + "/data", promises: promises, reference: reference)
            for failure in outcome.failures { Issue.record("\(failure): \(what)") }
            try? FileManager.default.removeItem(atPath: directory)
            stats.cuts += 1
            stats.byCut["\(cut.cut)", default: 0] += 1
            stats.promisedVotes += promises.votes.count
            stats.promisedCommits += promises.committed.count
            if outcome.recovered > 0 { stats.recoveredFromLog += 1 }
            if outcome.slotDamage { stats.slotDamage += 1 }
            if index == nextBase { picked = (image, promises) }
            if !outcome.failures.isEmpty { break }
        }
        return picked ?? ([:], basePromises)
    }

    struct Outcome {
        var failures: [String] = []
        var recovered = 0
        var slotDamage = false
    }

    /// Opens the data directory of a power-cut image as a starting node does and checks `promises`.
    static func check(_ data: String, promises: Promises, reference: Reference) async -> Outcome {
        var outcome = Outcome()
        guard FileManager.default.fileExists(atPath: data) else {
            if !promises.isEmpty { outcome.failures.append("the data directory is gone after promises were made") }
            return outcome
        }
        let source: ChainBlockSource
        do {
            source = try ChainBlockSource(directory: data, transactionsPerBlock: transactionsPerBlock)
        } catch {
            outcome.failures.append("the store does not open: \(error)")
            return outcome
        }
        let store = source.store
        do {
            _ = try store.verifyAtStart()
            outcome.recovered = try source.storeLoggedBlocks()
            outcome.slotDamage = store.signingStateDamage != nil || store.decidedLogDamage != nil
            outcome.failures += try checkBlocks(store, promises: promises, reference: reference)
            outcome.failures += try checkSigningState(store, promises: promises)
        } catch {
            outcome.failures.append("the store fails at start: \(error)")
        }
        await store.shutdown()
        return outcome
    }

    static func checkBlocks(_ store: ChainStore, promises: Promises, reference: Reference) throws -> [String] {
        var failures: [String] = []
        let tip = try store.tip()
        for (height, hash) in promises.committed {
            guard height <= tip.height else {
                failures.append("block \(height) was reported committed but the store ends at \(tip.height)")
                continue
            }
            if try store.block(at: height)?.hash != hash { failures.append("block \(height) is not the one reported committed") }
            if try store.certificate(at: height)?.height != height { failures.append("block \(height) has no certificate") }
        }
        let digest = try store.environment.read { try $0.digest(store.environment.databases) }
        if Int(tip.height) >= reference.digests.count || digest != reference.digests[Int(tip.height)] {
            failures.append("the store at height \(tip.height) differs from a replay of blocks 1...\(tip.height)")
        }
        return failures
    }

    /// The signing state a restarted replica takes back (ConsensusDriver): the stored one if it is
    /// at the height being decided, else a fresh one there. It must refuse whatever contradicts a
    /// vote reported sent at that height; votes below it are for decided heights, where the replica
    /// never signs again.
    static func checkSigningState(_ store: ChainStore, promises: Promises) throws -> [String] {
        let next = try store.tip().height + 1
        var restored = SigningState<Block>(height: next)
        if let bytes = try store.signingState() {
            let stored = try ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: 10_000)
            if stored.height > next {
                return ["the signing state is at height \(stored.height), above the store's next height \(next): the node would refuse to start"]
            }
            if stored.height == next { restored = stored }
        }
        var failures: [String] = []
        for vote in promises.votes where vote.height >= next {
            let other = SHA256.hash(vote.hash.bytes)
            if vote.height > next || restored.maySign(vote.phase, view: vote.view, hash: other) {
                failures.append("after a \(vote.phase) for \(vote.hash.hex.prefix(16)) at height \(vote.height) view \(vote.view) "
                                + "was sent, the restarted replica (at height \(next), view \(restored.view)) may sign another block there")
            }
        }
        return failures
    }

    // MARK: Promises

    /// What the child reported before a cut: votes sent and blocks reported committed.
    struct Promises {
        struct Vote {
            let phase: VotePhase
            let height: UInt64
            let view: UInt32
            let hash: Bytes32
        }

        var votes: [Vote] = []
        var committed: [(height: UInt64, hash: Bytes32)] = []
        var isEmpty: Bool { votes.isEmpty && committed.isEmpty }
        var summary: String { "\(votes.count) votes and \(committed.count) commits promised before it" }

        mutating func add(_ note: String) {
            for line in note.split(separator: "\n") {
                let f = line.split(separator: " ").map(String.init)
                if f.count == 5, f[0] == "vote", let h = UInt64(f[2]), let v = UInt32(f[3]), let hash = Bytes32(hex: f[4]) {
                    votes.append(Vote(phase: f[1] == "prepare" ? .prepare : .commit, height: h, view: v, hash: hash))
                } else if f.count == 3, f[0] == "committed", let h = UInt64(f[1]), let hash = Bytes32(hex: f[2]) {
                    committed.append((h, hash))
                }
            }
        }
    }

    // MARK: The child

    struct ChildRun {
        let base: PowerCutDisk
        let ops: [JournalOp]
    }

    /// Runs the child in node mode to `target` on a root holding `base` (its `data` directory is
    /// the store), journaled by the shim; the child must exit normally.
    static func runChild(_ child: String, shim: String, base: [String: [UInt8]?], root: String,
                         target: UInt64) throws -> ChildRun {
        try write(base, to: root)
        guard let resolved = realpath(root, nil) else { throw TestFailure("realpath \(root)") }
        let rootPath = String(cString: resolved)
        free(resolved)
        let journal = rootPath + ".journal", report = rootPath + ".report"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: child)
        process.arguments = ["node", rootPath + "/data", report, String(target), String(transactionsPerBlock)]
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = shim
        environment["TOTEM_POWERCUT_ROOT"] = rootPath
        environment["TOTEM_POWERCUT_JOURNAL"] = journal
        environment["TOTEM_POWERCUT_REPORT"] = report
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw TestFailure("the child exited with status \(process.terminationStatus)")
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: journal)))
        let files = base.compactMapValues { $0 }
        let directories = base.filter { $0.value == nil }.map(\.key)
        return ChildRun(base: PowerCutDisk(base: files, directories: directories), ops: try PowerCutJournal.parse(bytes))
    }

    /// The journal must show the shim at work on all three files, and nothing it cannot model.
    static func checkJournal(_ run: ChildRun, stats: inout Stats, context: String) throws {
        var disk = run.base
        var written = Set<String>(), synced = 0, dirSyncs = 0, notes = 0
        var pathOfInode: [UInt64: String] = [:]
        for op in run.ops {
            disk.apply(op)
            switch op {
            case .create(let path, let inode), .open(let path, let inode): pathOfInode[inode] = path
            case .write(let inode, _, _, _): written.insert(PowerCutDisk.name(of: pathOfInode[inode] ?? ""))
            case .fsync: synced += 1
            case .dirsync: dirSyncs += 1
            case .note: notes += 1
            default: break
            }
        }
        #expect(disk.problems.isEmpty, "the journal holds operations the model cannot replay: \(disk.problems); \(context)")
        #expect(disk.mappedShared.allSatisfy { $0.hasSuffix("lock.mdb") },
                "only LMDB's lock file may be mapped writable (writes through a map are not journaled): \(disk.mappedShared)")
        #expect(written.isSuperset(of: ["data.mdb", "signing-state.a", "signing-state.b", "decided-block.a", "decided-block.b"]),
                "the shim saw writes to the store and both slot files of each: \(written.sorted())")
        #expect(synced > 0 && dirSyncs > 0 && notes > 0, "the shim saw file syncs, directory syncs and reports")
    }

    /// Compiles the shim with the system C compiler (`cc`, else `clang`).
    static func compileShim(into output: String) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("PowerCut/powercut_journal.c").path
        for compiler in ["cc", "clang"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [compiler, "-shared", "-fPIC", "-O1", "-o", output, source, "-ldl", "-lpthread"]
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus == 0 { return output }
        }
        throw TestFailure("cannot compile \(source) with cc or clang")
    }

    // MARK: Images on disk

    /// Writes an image (relative path → bytes, nil for a directory) under `root`.
    static func write(_ image: [String: [UInt8]?], to root: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for (path, bytes) in image.sorted(by: { $0.key < $1.key }) {
            let full = root + "/" + path
            if let bytes {
                guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else { throw TestFailure("create \(full)") }
            } else {
                try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
            }
        }
    }

    /// The harness chain replayed in the test process: the store's digest at every height.
    final class Reference {
        let digests: [Bytes32]

        init(directory: String, heights: UInt64) throws {
            let source = try ChainBlockSource(directory: directory, transactionsPerBlock: PowerCutTests.transactionsPerBlock)
            let environment = source.store.environment
            var digests = [try environment.read { try $0.digest(environment.databases) }]
            for height in 1...heights {
                try environment.write { try source.writeBlock(height: height, into: $0) }
                digests.append(try environment.read { try $0.digest(environment.databases) })
            }
            self.digests = digests
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
#endif

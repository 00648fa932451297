// totem-store-crash-child: the process the crash-safety test kills.
//
//   totem-store-crash-child <store directory> <report file> <target height> [transactions per block]
//                           [workload: synthetic | chain]
//   totem-store-crash-child node <data directory> <report file> <target height> [transactions per block]
//
// (`node`: the store, the signing-state file and the decided-block log in the node's order, for
// the power-cut test; see NodeOrder.swift.)
//
// Opens the store, appends "open <height>" to the report file, then commits blocks of the
// workload's block source (`StoreWorkload`) one write transaction each (through the dedicated writer thread) as fast as it
// can, appending "<height>" after each commit returns, until the target height. The parent kills
// it with SIGKILL at a random moment and checks the store holds exactly blocks 1...h.
import Benchmarks
import Storage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a message to standard error (fd 2; the C `stderr` global is not concurrency-safe).
func fail(_ message: String, status: Int32) -> Never {
    let bytes = Array("totem-store-crash-child: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}

/// Appends one line with a single write(2): the parent reads the file after the kill, and the page
/// cache keeps what was written even though the process dies.
func report(_ fd: Int32, _ line: String) {
    let bytes = Array((line + "\n").utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if written != bytes.count {
        fail("cannot write report", status: 3)
    }
}

let arguments = CommandLine.arguments
if arguments.count >= 2 && arguments[1] == "node" {
    // The store, the signing-state file and the decided-block log in the node's order (NodeOrder).
    let usage = "usage: totem-store-crash-child node <data dir> <report file> <target height> [tx per block]"
    guard arguments.count >= 5, let target = UInt64(arguments[4]),
          let transactionsPerBlock = arguments.count >= 6 ? Int(arguments[5]) : 4, transactionsPerBlock >= 1 else {
        fail(usage, status: 2)
    }
    let fd = open(arguments[3], O_WRONLY | O_APPEND | O_CREAT, 0o600)
    guard fd >= 0 else { fail("cannot open report file \(arguments[3])", status: 2) }
    do {
        try await NodeOrder.run(directory: arguments[2], report: fd, target: target, transactionsPerBlock: transactionsPerBlock)
    } catch {
        fail("\(error)", status: 1)
    }
    exit(0)
}
let usage = "usage: totem-store-crash-child <store dir> <report file> <target height> [tx per block] [synthetic|chain]"
guard arguments.count >= 4, let target = UInt64(arguments[3]) else { fail(usage, status: 2) }
let defaultTransactionsPerBlock = 40
/// Small, so the map grows while the child runs and some kills land around a growth.
let initialMapSizeBytes = 1 << 20
guard let transactionsPerBlock = arguments.count >= 5 ? Int(arguments[4]) : defaultTransactionsPerBlock,
      transactionsPerBlock >= 2 else { fail(usage, status: 2) }
guard let workload = arguments.count >= 6 ? StoreWorkload(rawValue: arguments[5]) : .synthetic else { fail(usage, status: 2) }
let fd = open(arguments[2], O_WRONLY | O_APPEND | O_CREAT, 0o600)
guard fd >= 0 else {
    fail("cannot open report file \(arguments[2])", status: 2)
}

do {
    let store = try workload.open(directory: arguments[1], transactionsPerBlock: transactionsPerBlock,
                                  options: .init(initialMapSizeBytes: initialMapSizeBytes))
    let environment = store.environment, source = store.source, meta = store.meta
    let writer = StoreWriter(environment: environment)
    var height = try environment.read { try StoreBlockReplay.committedHeight($0, meta: meta) }
    report(fd, "open \(height)")
    while height < target {
        let next = height + 1
        height = try await writer.write { txn in
            try StoreBlockReplay.apply(source, upTo: next, into: txn, meta: meta)
        }
        report(fd, "\(height)")
    }
    await writer.shutdown()
} catch {
    fail("\(error)", status: 1)
}

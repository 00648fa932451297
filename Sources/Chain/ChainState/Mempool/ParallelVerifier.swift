#if canImport(Glibc)
import ChainModel
import Glibc
#endif
import Dispatch
import TotemCrypto

/// Verifies transaction signatures on all cores. libsodium is thread-safe after initialisation;
/// each worker writes only its own slots of the result.
public enum ParallelVerifier {
    /// Below this many signatures one thread is faster than waking others.
    static let minParallelBatch = 64

    /// One result per transaction, in order.
    public static func verify(_ txs: [SignedTx], genesisHash: Bytes32) -> [Bool] {
        guard txs.count >= minParallelBatch else {
            return txs.map { $0.verifySignature(genesisHash: genesisHash) }
        }
        let workers = max(1, min(ProcessInfoLite.activeProcessorCount, txs.count / (minParallelBatch / 2)))
        let results = ResultSlots(count: txs.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < txs.count {
                results.set(i, txs[i].verifySignature(genesisHash: genesisHash))
                i += workers
            }
        }
        return results.values
    }
}

/// Boolean slots written by concurrent workers, each slot by exactly one worker.
/// `@unchecked Sendable` is sound here: `concurrentPerform` returns only after every worker is done
/// (a happens-before edge to the read in `values`), and workers write disjoint indices, so no two
/// threads ever touch the same byte concurrently.
private final class ResultSlots: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Bool>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: false)
    }

    deinit { storage.deallocate() }

    func set(_ i: Int, _ v: Bool) { storage[i] = v }
    var values: [Bool] { Array(storage) }
}

/// The number of CPUs this process may use, without importing Foundation into ChainState.
enum ProcessInfoLite {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 2
        #endif
    }
}

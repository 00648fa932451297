import Synchronization

/// The syncs to disk this process has made, by kind, for `/metrics` (`totem_disk_syncs_total`):
/// each is a wait for the disk, and their number per height is what a node's commit latency and
/// write load are made of. Process-wide: a node is one process.
public enum DiskSyncs {
    public enum Kind: Int, CaseIterable, Sendable {
        /// A durable LMDB commit (its data pages, and its meta page unless deferred).
        case lmdbCommit
        /// `mdb_env_sync`: the deferred meta-page sync, or the sync after creating the data file.
        case lmdbEnvironment
        /// A slot file record (the signing state, the decided-block log).
        case slotFile
        /// A directory, after files in it were created or renamed.
        case directory

        /// The metric label.
        public var label: String {
            switch self {
            case .lmdbCommit: "lmdb_commit"
            case .lmdbEnvironment: "lmdb_env_sync"
            case .slotFile: "slot_file"
            case .directory: "directory"
            }
        }
    }

    private final class Counters: Sendable {
        let lmdbCommit = Atomic<UInt64>(0)
        let lmdbEnvironment = Atomic<UInt64>(0)
        let slotFile = Atomic<UInt64>(0)
        let directory = Atomic<UInt64>(0)

        func counter<T>(_ kind: Kind, _ body: (borrowing Atomic<UInt64>) -> T) -> T {
            switch kind {
            case .lmdbCommit: body(lmdbCommit)
            case .lmdbEnvironment: body(lmdbEnvironment)
            case .slotFile: body(slotFile)
            case .directory: body(directory)
            }
        }
    }

    private static let counters = Counters()

    static func count(_ kind: Kind) {
        counters.counter(kind) { _ = $0.add(1, ordering: .relaxed) }
    }

    /// Syncs of `kind` made so far by this process.
    public static func total(_ kind: Kind) -> UInt64 {
        counters.counter(kind) { $0.load(ordering: .relaxed) }
    }
}

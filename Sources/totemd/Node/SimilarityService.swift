import ChainModel
import ImageCodes
import Storage
import Synchronization
import TotemCrypto

/// Near-duplicate search over the image codes of registered works: a multi-index-hashing index
/// in memory, rebuilt from LMDB's `imageCodes` database at start and extended after each block.
final class SimilarityService: Sendable {
    struct Match: Sendable {
        let contentHash: Bytes32
        let distance: Int
    }

    let store: ChainStore
    private let index: Mutex<SimilarityIndex>

    init(store: ChainStore) throws {
        self.store = store
        var entries: [SimilarityEntry] = []
        try store.environment.read { txn in
            try txn.scan(store.databases.imageCodes, range: KeyRange()) { e in
                if let code = StoreKey.readU64(e.key), let hash = StoreKey.readBytes32(e.key, at: 8) {
                    entries.append(SimilarityEntry(code: code, contentHash: hash))
                }
                return true
            }
        }
        index = Mutex(SimilarityIndex(entries: entries))
    }

    var count: Int { index.withLock { $0.count } }

    /// Adds the works a committed block registered.
    func blockCommitted(_ block: Block) {
        var entries: [SimilarityEntry] = []
        for tx in block.txs {
            for work in tx.tx.payload.works {
                if let code = work.imageCode { entries.append(SimilarityEntry(code: code, contentHash: work.contentHash)) }
            }
        }
        guard !entries.isEmpty else { return }
        index.withLock { $0.insert(contentsOf: entries) }
    }

    /// Works whose image code lies within `maxDistance` of `code`, nearest first, ties by contentHash.
    func query(code: UInt64, maxDistance: Int, limit: Int) throws -> [Match] {
        let snapshot = index.withLock { $0 }
        let found = try snapshot.query(code, maxDistance: maxDistance, limit: limit)
        // Resolve each key (the first 8 bytes of a contentHash) with a range lookup on (code, key).
        var matches: [Match] = []
        try store.environment.read { txn in
            for m in found {
                var prefix = StoreKey.u64(m.code)
                prefix += StoreKey.u64(m.key)
                for e in try txn.entries(store.databases.imageCodes, prefix: prefix, limit: 4) {
                    if let hash = Bytes32(e.key.suffix(32)) { matches.append(Match(contentHash: hash, distance: m.distance)) }
                }
            }
        }
        matches.sort { ($0.distance, $0.contentHash) < ($1.distance, $1.contentHash) }
        return Array(matches.prefix(limit))
    }
}

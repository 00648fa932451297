import ChainModel
import ImageCodes
import Storage
import Synchronization
import TotemCrypto

/// Near-duplicate search over the image codes of registered works: a multi-index-hashing index
/// in memory, rebuilt from the store's image-code index (`ImageCodeKey`) at start and extended
/// after each block.
final class SimilarityService: Sendable {
    struct Match: Sendable {
        let contentHash: Bytes32
        let distance: Int
    }

    private let index: Mutex<SimilarityIndex>

    init(store: ChainStore) throws {
        let entries = try store.imageCodeEntries().map { SimilarityEntry(code: $0.code, contentHash: $0.contentHash) }
        index = Mutex(SimilarityIndex(entries: entries))
    }

    var count: Int { index.withLock { $0.count } }

    /// Rebuilds the index from the store's image-code index (after a state sync filled it).
    func rebuild(store: ChainStore) throws {
        let entries = try store.imageCodeEntries().map { SimilarityEntry(code: $0.code, contentHash: $0.contentHash) }
        index.withLock { $0 = SimilarityIndex(entries: entries) }
    }

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

    /// Works whose image code lies within `maxDistance` of `code`, nearest first, ties by
    /// contentHash; each found key is resolved to its works through `snapshot`.
    func query(code: UInt64, maxDistance: Int, limit: Int, in snapshot: StoreSnapshot) throws -> [Match] {
        let snapshotOfIndex = index.withLock { $0 }
        let found = try snapshotOfIndex.query(code, maxDistance: maxDistance, limit: limit)
        // A key is the first 8 bytes of a contentHash (`SimilarityEntry`): resolved by a range lookup.
        var matches: [Match] = []
        for m in found {
            for hash in try snapshot.contentHashes(imageCode: m.code, hashPrefix: m.key, limit: 4) {
                matches.append(Match(contentHash: hash, distance: m.distance))
            }
        }
        matches.sort { ($0.distance, $0.contentHash) < ($1.distance, $1.contentHash) }
        return Array(matches.prefix(limit))
    }
}

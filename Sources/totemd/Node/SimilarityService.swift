import Chain
import TotemCrypto

/// Near-duplicate search over the image codes of registered works.
final class SimilarityService: Sendable {
    struct Match: Sendable {
        let contentHash: Bytes32
        let distance: Int
    }

    let store: ChainStore

    init(store: ChainStore) { self.store = store }

    /// Works whose image code lies within `maxDistance` of `code`, nearest first, ties by contentHash.
    func query(code: UInt64, maxDistance: Int, limit: Int) throws -> [Match] {
        var found: [Match] = []
        let db = store.databases.imageCodes
        try store.environment.read { txn in
            try txn.scan(db, range: KeyRange()) { entry in
                guard entry.key.count == 40,
                      let c = StoreKey.readU64(entry.key), let hash = StoreKey.readBytes32(entry.key, at: 8) else { return true }
                let d = (c ^ code).nonzeroBitCount
                if d <= maxDistance { found.append(Match(contentHash: hash, distance: d)) }
                return true
            }
        }
        found.sort { ($0.distance, $0.contentHash) < ($1.distance, $1.contentHash) }
        return Array(found.prefix(limit))
    }
}

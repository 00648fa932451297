import Testing
import ChainModel
@testable import ChainState

/// `StateChanges.sorted` orders by integer prefixes first; it must give exactly the order of
/// `StateKey.<` (the canonical encoding, hence every node's stateRoot, depends on it).
struct StateChangesOrderTests {
    /// Keys that stress the prefix: empty, shorter than the 15-byte prefix, equal in their first
    /// 15 bytes (an owner's works at one height), zero bytes where a shorter key is padded.
    static func keys(_ rng: inout SplitMix64) -> [(StateTable, [UInt8])] {
        let tables = StateTable.allCases
        var out: [(StateTable, [UInt8])] = [(.works, []), (.works, [0]), (.works, [0, 0]), (.nonces, [0])]
        let owners = (0..<3).map { _ in (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        for _ in 0..<3_000 {
            let table = tables[Int.random(in: 0..<tables.count, using: &rng)]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // random length up to 20, bytes from a small alphabet so that prefixes collide
                let n = Int.random(in: 0...20, using: &rng)
                out.append((table, (0..<n).map { _ in UInt8.random(in: 0...2, using: &rng) }))
            case 1:  // owner | height | random hash: long shared prefixes
                var k = owners[Int.random(in: 0..<owners.count, using: &rng)]
                k += [0, 0, 0, 0, 0, 0, 0, UInt8.random(in: 1...2, using: &rng)]
                k += (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
                out.append((table, k))
            case 2:  // a prefix of an owner's key, cut at every length around the 15-byte prefix
                let k = owners[Int.random(in: 0..<owners.count, using: &rng)]
                out.append((table, Array(k.prefix(Int.random(in: 5...17, using: &rng)))))
            default:
                out.append((table, (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 42] as [UInt64])
    func sortedIsTheOrderOfStateKeys(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var changes = StateChanges()
        for (table, key) in Self.keys(&rng) {
            if Bool.random(using: &rng) { changes.put(table, key, [UInt8(key.count)]) } else { changes.delete(table, key) }
        }
        let fast = changes.sorted
        let reference = changes.writes.sorted { $0.key < $1.key }
        #expect(fast.count == changes.count)
        #expect(fast.map(\.key) == reference.map(\.key))
        #expect(fast.map(\.value) == reference.map(\.value))
    }

    /// Sealed changes keep their order until they change; a sealed copy and an unsealed one are
    /// equal and encode the same.
    @Test func sealedChangesSortOnceAndForgetTheOrderWhenChanged() {
        var rng = SplitMix64(seed: 7)
        var changes = StateChanges()
        for (table, key) in Self.keys(&rng).prefix(500) { changes.put(table, key, [1]) }
        let unsealed = changes
        changes.seal()
        #expect(changes == unsealed)
        #expect(changes.encoded == unsealed.encoded)
        #expect(changes.sorted.map(\.key) == unsealed.sorted.map(\.key))
        // A change after the seal: the new key is in the order, the old order is not reused.
        changes.put(.works, [0xFF, 0xFF], [2])
        #expect(changes.sorted.count == unsealed.count + 1)
        #expect(changes.sorted.contains { $0.key == StateKey(.works, [0xFF, 0xFF]) })
        #expect(changes.sorted.map(\.key) == changes.writes.sorted { $0.key < $1.key }.map(\.key))
    }
}

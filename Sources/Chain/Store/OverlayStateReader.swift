/// The stored state with a logged block's writes laid over it (`ChainStore.withCommittedState`).
/// The writes are whole values (or deletes), so laying them over a store that already holds them
/// changes nothing.
public struct OverlayStateReader<Base: StateReader>: StateReader {
    let base: Base
    let writes: [StateKey: [UInt8]?]

    public func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]? {
        if let write = writes[StateKey(table, key)] { return write }
        return base.get(table, key)
    }
}
